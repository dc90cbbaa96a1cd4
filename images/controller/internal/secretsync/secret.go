// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package secretsync

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/deckhouse/secrets-store-integration/images/api/v1alpha1"
)

// What the controller marks a synced Secret with.
const (
	// LabelManaged ("true") selects the Secrets the controller watches and
	// caches: its own, not every Secret of the cluster.
	LabelManaged = "secrets-store.deckhouse.io/managed"
	// AnnotationImport names the SecretsStoreImport (same namespace) that
	// writes the Secret.
	AnnotationImport = "secrets-store.deckhouse.io/import"
	// AnnotationDataHMAC is the HMAC-SHA256 of the keys the import wrote,
	// as they were written: a changed or missing key shows as a mismatch.
	AnnotationDataHMAC = "secrets-store.deckhouse.io/data-hmac"
	// AnnotationKeys lists the keys the import wrote, comma-separated; with
	// Merge the other keys are someone else's.
	AnnotationKeys = "secrets-store.deckhouse.io/keys"
	// AnnotationRolloutPending is set with a data change until every
	// rollout target has been restarted, so a failed restart is retried.
	AnnotationRolloutPending = "secrets-store.deckhouse.io/rollout-pending"
)

// dataHMAC is the hex HMAC-SHA256 of data under key. Keys are taken in
// order and every part is length-prefixed, so two different maps never
// encode alike.
func dataHMAC(key []byte, data map[string][]byte) string {
	mac := hmac.New(sha256.New, key)
	var n [8]byte
	for _, k := range slices.Sorted(maps.Keys(data)) {
		for _, part := range [][]byte{[]byte(k), data[k]} {
			binary.BigEndian.PutUint64(n[:], uint64(len(part)))
			mac.Write(n[:])
			mac.Write(part)
		}
	}
	return hex.EncodeToString(mac.Sum(nil))
}

// managedKeys is what AnnotationKeys of s lists.
func managedKeys(s *corev1.Secret) []string {
	v := s.Annotations[AnnotationKeys]
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// ours returns the data of s that the import wrote: everything for Owner
// and Orphan (a key someone added is drift), the listed keys for Merge.
func ours(s *corev1.Secret, creation string) map[string][]byte {
	if creation != v1alpha1.CreationMerge {
		return s.Data
	}
	out := map[string][]byte{}
	for _, k := range managedKeys(s) {
		if v, ok := s.Data[k]; ok {
			out[k] = v
		}
	}
	return out
}

// conflict says why the import may not write s, or "" if it may: a Secret
// of another import is never touched, and with Owner or Orphan neither is a
// Secret the import did not create (Merge is the way to share one).
func conflict(s *corev1.Secret, ssi *v1alpha1.SecretsStoreImport, creation string) string {
	if s == nil {
		return ""
	}
	owner, managed := s.Annotations[AnnotationImport]
	switch {
	case managed && owner != ssi.Name:
		return fmt.Sprintf("Secret %s/%s is managed by SecretsStoreImport %s", s.Namespace, s.Name, owner)
	case !managed && creation != v1alpha1.CreationMerge:
		return fmt.Sprintf("Secret %s/%s exists and was not created by this SecretsStoreImport; "+
			"delete it, rename spec.secret.name, or use creationPolicy Merge to write into it", s.Namespace, s.Name)
	}
	return ""
}

// desired returns the Secret as the import wants it, from existing (nil:
// none yet) and the data read from the store, whose HMAC is mac.
func desired(existing *corev1.Secret, ssi *v1alpha1.SecretsStoreImport, creation string, data map[string][]byte, mac string) *corev1.Secret {
	target := ssi.Spec.Secret
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ssi.Namespace, Name: target.Name}, Type: secretType(target)}
	if existing != nil {
		s = existing.DeepCopy()
		if creation != v1alpha1.CreationMerge {
			// The type is immutable: a change means a new Secret.
			s.Type = secretType(target)
		}
	}
	previous := managedKeys(s)
	s.Labels = with(s.Labels, target.Labels, map[string]string{LabelManaged: "true"})
	keys := slices.Sorted(maps.Keys(data))
	s.Annotations = with(s.Annotations, target.Annotations, map[string]string{
		AnnotationImport: ssi.Name, AnnotationDataHMAC: mac, AnnotationKeys: strings.Join(keys, ","),
	})
	if creation == v1alpha1.CreationMerge {
		merged := maps.Clone(s.Data)
		if merged == nil {
			merged = map[string][]byte{}
		}
		// Keys the import wrote before and no longer has go.
		for _, k := range previous {
			delete(merged, k)
		}
		maps.Copy(merged, data)
		s.Data = merged
	} else {
		s.Data = maps.Clone(data)
	}
	s.OwnerReferences = ownerReferences(s.OwnerReferences, ssi, creation == v1alpha1.CreationOwner)
	return s
}

// changed reports whether writing want over have would change anything the
// import manages.
func changed(have, want *corev1.Secret) bool {
	return have.Type != want.Type ||
		!apiequality.Semantic.DeepEqual(have.Data, want.Data) ||
		!apiequality.Semantic.DeepEqual(have.Labels, want.Labels) ||
		!apiequality.Semantic.DeepEqual(have.Annotations, want.Annotations) ||
		!apiequality.Semantic.DeepEqual(have.OwnerReferences, want.OwnerReferences)
}

// released returns s without the import's marks and ownerReference: a
// Secret the controller no longer manages. With dropKeys the import's keys
// go too (Merge with deletionPolicy Delete).
func released(s *corev1.Secret, ssi *v1alpha1.SecretsStoreImport, dropKeys bool) *corev1.Secret {
	out := s.DeepCopy()
	if dropKeys {
		for _, k := range managedKeys(s) {
			delete(out.Data, k)
		}
	}
	delete(out.Labels, LabelManaged)
	for _, a := range []string{AnnotationImport, AnnotationDataHMAC, AnnotationKeys, AnnotationRolloutPending} {
		delete(out.Annotations, a)
	}
	out.OwnerReferences = ownerReferences(out.OwnerReferences, ssi, false)
	return out
}

func secretType(t *v1alpha1.SecretTarget) corev1.SecretType {
	if t.Type == "" {
		return corev1.SecretTypeOpaque
	}
	return corev1.SecretType(t.Type)
}

// with returns base with each of the overlays set on it.
func with(base map[string]string, overlays ...map[string]string) map[string]string {
	out := maps.Clone(base)
	if out == nil {
		out = map[string]string{}
	}
	for _, o := range overlays {
		maps.Copy(out, o)
	}
	return out
}

// ownerReferences returns refs without the import's, plus it as the
// controller when own.
func ownerReferences(refs []metav1.OwnerReference, ssi *v1alpha1.SecretsStoreImport, own bool) []metav1.OwnerReference {
	var out []metav1.OwnerReference
	for _, r := range refs {
		if r.UID != ssi.UID {
			out = append(out, r)
		}
	}
	if own {
		yes := true
		out = append(out, metav1.OwnerReference{
			APIVersion: v1alpha1.Group + "/" + v1alpha1.Version, Kind: v1alpha1.Kind,
			Name: ssi.Name, UID: ssi.UID, Controller: &yes, BlockOwnerDeletion: &yes,
		})
	}
	return out
}
