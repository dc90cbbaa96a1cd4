// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package v1alpha1 holds the Go types of the SecretsStoreImport custom
// resource (deckhouse.io/v1alpha1) exactly as crds/secrets-store-import.yaml
// defines it. Objects are read as unstructured data and converted with
// runtime.DefaultUnstructuredConverter, so no generated code is needed.
package v1alpha1

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Identity of the resource.
const (
	Group    = "deckhouse.io"
	Version  = "v1alpha1"
	Kind     = "SecretsStoreImport"
	Resource = "secretsstoreimports"
)

// GroupVersionResource is the SecretsStoreImport resource, for dynamic clients.
var GroupVersionResource = schema.GroupVersionResource{Group: Group, Version: Version, Resource: Resource}

// GroupVersionKind is the SecretsStoreImport kind, for unstructured objects.
var GroupVersionKind = schema.GroupVersionKind{Group: Group, Version: Version, Kind: Kind}

// Delivery types (spec.type).
const (
	// TypeCSI: files in the pod's CSI volume.
	TypeCSI = "CSI"
	// TypeKubernetesSecret: the controller syncs the files into a Kubernetes
	// Secret, as keys.
	TypeKubernetesSecret = "KubernetesSecret"
)

// Creation policies (spec.creationPolicy) of a KubernetesSecret import.
const (
	// CreationOwner: the controller creates the Secret with an
	// ownerReference to the import; a Secret of the same name that is not
	// the import's is a conflict.
	CreationOwner = "Owner"
	// CreationOrphan: as Owner, without the ownerReference.
	CreationOrphan = "Orphan"
	// CreationMerge: the Secret exists already; the controller writes its
	// keys into it and keeps the others.
	CreationMerge = "Merge"
)

// Deletion policies (spec.deletionPolicy): what happens to the Secret when
// the import is deleted.
const (
	// DeletionDelete: the Secret is deleted (with Merge: the import's keys
	// are removed from it).
	DeletionDelete = "Delete"
	// DeletionRetain: the Secret stays, no longer managed.
	DeletionRetain = "Retain"
)

// SecretsStoreImport says which secrets of a Vault-compatible store a pod
// receives and how.
type SecretsStoreImport struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   Spec   `json:"spec"`
	Status Status `json:"status,omitempty"`
}

// Spec is the desired delivery.
type Spec struct {
	// Type is how the secrets are delivered: "CSI" or "KubernetesSecret".
	Type string `json:"type"`
	// Role is the store's auth role the pod logs in with.
	Role string `json:"role"`
	// AuthPath is the auth method's mount path; "" means the module's default.
	AuthPath string `json:"authPath,omitempty"`
	// AuthType is "kubernetes" (default) or "jwt".
	AuthType string `json:"authType,omitempty"`
	// Namespace is the store namespace (Vault Enterprise, Stronghold, OpenBao).
	Namespace string `json:"namespace,omitempty"`
	// Address of the store; "" means the module's default.
	Address string `json:"address,omitempty"`
	// CACert is a PEM CA bundle that signed the store's certificate.
	CACert string `json:"caCert,omitempty"`
	// Audience of the service-account token sent to the store; default "vault".
	Audience string `json:"audience,omitempty"`
	// SkipTLSVerify turns off verification of the store's certificate.
	SkipTLSVerify bool `json:"skipTLSVerify,omitempty"`
	// Files are the files written into the volume, or the keys of the
	// Secret.
	Files []File `json:"files"`

	// The fields below are for type KubernetesSecret only.

	// Secret is the Secret the controller writes.
	Secret *SecretTarget `json:"secret,omitempty"`
	// ServiceAccountName is the ServiceAccount of the import's namespace
	// whose identity logs in to the store.
	ServiceAccountName string `json:"serviceAccountName,omitempty"`
	// RefreshInterval is a duration ("1h", "30m"); "" means 1h, "0" reads
	// the store once.
	RefreshInterval string `json:"refreshInterval,omitempty"`
	// CreationPolicy is Owner (""), Orphan or Merge.
	CreationPolicy string `json:"creationPolicy,omitempty"`
	// DeletionPolicy is Delete or Retain; "" means Retain for Orphan and
	// Delete otherwise.
	DeletionPolicy string `json:"deletionPolicy,omitempty"`
	// RolloutRestart lists workloads restarted when the Secret's data
	// changes.
	RolloutRestart []RolloutTarget `json:"rolloutRestart,omitempty"`
}

// SecretTarget describes the synced Secret.
type SecretTarget struct {
	Name string `json:"name"`
	// Type is the Secret's type; "" means Opaque.
	Type        string            `json:"type,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// RolloutTarget is a workload of the import's namespace.
type RolloutTarget struct {
	// Kind is Deployment, StatefulSet or DaemonSet.
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// File is one file of the volume.
type File struct {
	// Name is the path inside the volume; relative, without "..".
	Name string `json:"name"`
	// DecodeBase64 says the stored value is base64; same as Encoding "base64".
	DecodeBase64 bool `json:"decodeBase64,omitempty"`
	// Encoding of the stored value: "", "utf-8", "base64" or "hex".
	Encoding string `json:"encoding,omitempty"`
	// Mode holds the file's permission bits; nil means the default.
	Mode *int32 `json:"mode,omitempty"`
	// Template is a Go template over the secret's data, in place of Source.Key.
	Template string `json:"template,omitempty"`
	// Source is where the content comes from.
	Source Source `json:"source"`
}

// Source locates a value in the store.
type Source struct {
	// Path of the secret, e.g. "secret/data/myapp".
	Path string `json:"path"`
	// Key of the secret; "" means the whole secret as JSON.
	Key string `json:"key,omitempty"`
	// Version pins a KV v2 version; 0 is the latest.
	Version int `json:"version,omitempty"`
	// Method is GET (default), PUT or POST.
	Method string `json:"method,omitempty"`
	// Args is the request body of PUT and POST.
	Args map[string]any `json:"args,omitempty"`
}

// Status is what the module last saw of the object. It never holds secrets.
type Status struct {
	ObservedGeneration int64       `json:"observedGeneration,omitempty"`
	Conditions         []Condition `json:"conditions,omitempty"`
	// LastSyncTime is when the store was last read successfully (type
	// KubernetesSecret).
	LastSyncTime *metav1.Time `json:"lastSyncTime,omitempty"`
}

// Condition is one observation, keyed by Type.
type Condition struct {
	Type               string      `json:"type"`
	Status             string      `json:"status"`
	Reason             string      `json:"reason,omitempty"`
	Message            string      `json:"message,omitempty"`
	ObservedGeneration int64       `json:"observedGeneration,omitempty"`
	LastTransitionTime metav1.Time `json:"lastTransitionTime,omitempty"`
}

// FromUnstructured converts an object read by a dynamic client.
func FromUnstructured(u *unstructured.Unstructured) (*SecretsStoreImport, error) {
	var ssi SecretsStoreImport
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.UnstructuredContent(), &ssi); err != nil {
		return nil, fmt.Errorf("convert %s %s/%s: %w", Kind, u.GetNamespace(), u.GetName(), err)
	}
	return &ssi, nil
}
