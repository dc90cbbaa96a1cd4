// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package secretsync

import (
	"maps"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/deckhouse/secrets-store-integration/images/api/v1alpha1"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func testImport(creation string) *v1alpha1.SecretsStoreImport {
	return &v1alpha1.SecretsStoreImport{
		ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "db", UID: "uid-ssi"},
		Spec: v1alpha1.Spec{
			Type: v1alpha1.TypeKubernetesSecret, Role: "app", ServiceAccountName: "app", CreationPolicy: creation,
			Secret: &v1alpha1.SecretTarget{Name: "db-creds", Type: "kubernetes.io/basic-auth",
				Labels: map[string]string{"team": "a"}, Annotations: map[string]string{"note": "synced"}},
			Files: []v1alpha1.File{{Name: "username", Source: v1alpha1.Source{Path: "secret/data/db", Key: "user"}}},
		},
	}
}

func TestDataHMAC(t *testing.T) {
	base := map[string][]byte{"a": []byte("1"), "b": []byte("2")}
	cases := []struct {
		name  string
		other map[string][]byte
		key   []byte
		same  bool
	}{
		{"same data", map[string][]byte{"b": []byte("2"), "a": []byte("1")}, testKey, true},
		{"changed value", map[string][]byte{"a": []byte("1"), "b": []byte("3")}, testKey, false},
		{"extra key", map[string][]byte{"a": []byte("1"), "b": []byte("2"), "c": nil}, testKey, false},
		{"moved boundary", map[string][]byte{"a": []byte("1b"), "": []byte("2")}, testKey, false},
		{"other HMAC key", base, []byte("another key of 16+ bytes"), false},
	}
	want := dataHMAC(testKey, base)
	if len(want) != 64 {
		t.Fatalf("HMAC %q is not 32 hex bytes", want)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := dataHMAC(c.key, c.other); (got == want) != c.same {
				t.Errorf("equal = %v, want %v", got == want, c.same)
			}
		})
	}
}

func TestConflict(t *testing.T) {
	ours := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "db-creds",
		Annotations: map[string]string{AnnotationImport: "db"}}}
	others := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "db-creds",
		Annotations: map[string]string{AnnotationImport: "other"}}}
	foreign := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "db-creds"}}
	cases := []struct {
		name     string
		secret   *corev1.Secret
		creation string
		want     string
	}{
		{"none yet", nil, v1alpha1.CreationOwner, ""},
		{"ours", ours, v1alpha1.CreationOwner, ""},
		{"another import's", others, v1alpha1.CreationMerge, "managed by SecretsStoreImport other"},
		{"foreign with Owner", foreign, v1alpha1.CreationOwner, "was not created by this SecretsStoreImport"},
		{"foreign with Orphan", foreign, v1alpha1.CreationOrphan, "was not created by this SecretsStoreImport"},
		{"foreign with Merge", foreign, v1alpha1.CreationMerge, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := conflict(c.secret, testImport(c.creation), c.creation)
			if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
				t.Errorf("conflict = %q, want %q", got, c.want)
			}
		})
	}
}

func TestDesired(t *testing.T) {
	data := map[string][]byte{"username": []byte("u"), "password": []byte("p")}
	foreignOwner := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "x", UID: "uid-other"}
	existing := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "db-creds", ResourceVersion: "7",
			Labels:          map[string]string{"keep": "me"},
			Annotations:     map[string]string{AnnotationKeys: "username,old"},
			OwnerReferences: []metav1.OwnerReference{foreignOwner}},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{"username": []byte("stale"), "old": []byte("gone"), "foreign": []byte("f")},
	}
	cases := []struct {
		name      string
		existing  *corev1.Secret
		creation  string
		wantKeys  string
		wantType  corev1.SecretType
		wantOwner bool
	}{
		{"create with Owner", nil, v1alpha1.CreationOwner, "password,username", "kubernetes.io/basic-auth", true},
		{"create with Orphan", nil, v1alpha1.CreationOrphan, "password,username", "kubernetes.io/basic-auth", false},
		{"Owner replaces all data", existing, v1alpha1.CreationOwner, "password,username", "kubernetes.io/basic-auth", true},
		{"Merge keeps foreign keys, drops its old ones", existing, v1alpha1.CreationMerge, "foreign,password,username", corev1.SecretTypeOpaque, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ssi := testImport(c.creation)
			s := desired(c.existing, ssi, c.creation, data, "mac")
			if got := strings.Join(sortedKeys(s.Data), ","); got != c.wantKeys {
				t.Errorf("keys %s, want %s", got, c.wantKeys)
			}
			if string(s.Data["username"]) != "u" || s.Type != c.wantType {
				t.Errorf("data %q type %s", s.Data["username"], s.Type)
			}
			if s.Labels[LabelManaged] != "true" || s.Labels["team"] != "a" || s.Annotations["note"] != "synced" {
				t.Errorf("labels %v annotations %v", s.Labels, s.Annotations)
			}
			if s.Annotations[AnnotationImport] != "db" || s.Annotations[AnnotationDataHMAC] != "mac" || s.Annotations[AnnotationKeys] != "password,username" {
				t.Errorf("marks %v", s.Annotations)
			}
			owned := false
			for _, r := range s.OwnerReferences {
				if r.UID == ssi.UID && r.Controller != nil && *r.Controller {
					owned = true
				}
			}
			if owned != c.wantOwner {
				t.Errorf("owned = %v, want %v (%v)", owned, c.wantOwner, s.OwnerReferences)
			}
			if c.existing != nil {
				if s.Labels["keep"] != "me" || len(s.OwnerReferences) == 0 || s.OwnerReferences[0] != foreignOwner {
					t.Errorf("lost what others set: labels %v owners %v", s.Labels, s.OwnerReferences)
				}
				if string(c.existing.Data["username"]) != "stale" {
					t.Error("desired changed the existing Secret")
				}
			}
			if c.existing != nil && changed(c.existing, s) == false {
				t.Error("changed() = false for a different Secret")
			}
			if changed(s, s.DeepCopy()) {
				t.Error("changed() = true for a copy")
			}
		})
	}
}

func TestOursAndReleased(t *testing.T) {
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "db-creds",
			Labels:          map[string]string{LabelManaged: "true", "team": "a"},
			Annotations:     map[string]string{AnnotationImport: "db", AnnotationKeys: "a,b", AnnotationDataHMAC: "x", "note": "n"},
			OwnerReferences: ownerReferences(nil, testImport(""), true)},
		Data: map[string][]byte{"a": []byte("1"), "b": []byte("2"), "c": []byte("3")},
	}
	if got := ours(s, v1alpha1.CreationMerge); len(got) != 2 || got["c"] != nil {
		t.Errorf("Merge: ours = %v, want a and b", got)
	}
	if got := ours(s, v1alpha1.CreationOwner); len(got) != 3 {
		t.Errorf("Owner: ours = %v, want all keys", got)
	}
	cases := []struct {
		name     string
		dropKeys bool
		wantKeys string
	}{
		{"retain keeps the data", false, "a,b,c"},
		{"merge delete drops its keys", true, "c"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := released(s, testImport(""), c.dropKeys)
			if got := strings.Join(sortedKeys(out.Data), ","); got != c.wantKeys {
				t.Errorf("keys %s, want %s", got, c.wantKeys)
			}
			if _, ok := out.Labels[LabelManaged]; ok || out.Labels["team"] != "a" {
				t.Errorf("labels %v", out.Labels)
			}
			if len(out.Annotations) != 1 || out.Annotations["note"] != "n" || len(out.OwnerReferences) != 0 {
				t.Errorf("annotations %v owners %v: want only the user's", out.Annotations, out.OwnerReferences)
			}
		})
	}
	if len(s.Data) != 3 || s.Labels[LabelManaged] != "true" {
		t.Error("released changed its input")
	}
}

func sortedKeys(m map[string][]byte) []string { return slices.Sorted(maps.Keys(m)) }
