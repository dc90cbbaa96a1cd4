// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package v1alpha1 holds the Go types of the SecretsStoreImport custom
// resource (deckhouse.io/v1alpha1). Their doc comments and markers generate
// crds/secrets-store-import.yaml and zz_generated.deepcopy.go (make generate,
// with controller-gen pinned in test/tools/controller-gen). Objects are read as
// unstructured data and converted with runtime.DefaultUnstructuredConverter.
//
// +kubebuilder:object:generate=true
// +groupName=deckhouse.io
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

// SecretsStoreImport is the CRD's single version; the English descriptions
// of crds/secrets-store-import.yaml are the doc comments below (make
// generate), the Russian ones live in crds/doc-ru-secrets-store-import.yaml.

// Which secrets of a Vault-compatible store (Stronghold, HashiCorp Vault, OpenBao) a pod
// receives and how. With type `CSI`, a CSI volume with driver `secrets-store.csi.deckhouse.io`
// names this object in its `secretsStoreImport` volume attribute; the pod's ServiceAccount is
// the identity used to log in to the store. With type `KubernetesSecret`, the module's
// controller writes the values into a Kubernetes Secret and keeps it up to date, logging in
// as `serviceAccountName`; the values are then stored in etcd: the least safe way.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=secretsstoreimports,singular=secretsstoreimport,scope=Namespaced,shortName=ssi
// +kubebuilder:metadata:labels={"heritage=deckhouse","module=secrets-store-integration"}
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.type`
// +kubebuilder:printcolumn:name="Role",type=string,JSONPath=`.spec.role`
// +kubebuilder:printcolumn:name="Secret",type=string,JSONPath=`.spec.secret.name`,priority=1
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type SecretsStoreImport struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// What the pod receives from the store and how.
	Spec   Spec   `json:"spec"`
	Status Status `json:"status,omitempty"`
}

// SecretsStoreImportList is a list of SecretsStoreImports.
//
// +kubebuilder:object:root=true
type SecretsStoreImportList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SecretsStoreImport `json:"items"`
}

// Spec is the desired delivery. Its doc comment is not in the CRD (the
// group below is detached) and neither are those of the types under it, so
// that every description in the CRD has its Russian twin. The rules are
// shared with the code: images/internal/params holds the same patterns and
// testdata/validation.tsv is the table both must agree on.

// +kubebuilder:validation:XValidation:rule="self.type == oldSelf.type",message="type is immutable"
// +kubebuilder:validation:XValidation:rule="self.type != 'KubernetesSecret' || has(self.secret)",message="secret is required with type KubernetesSecret"
// +kubebuilder:validation:XValidation:rule="self.type != 'KubernetesSecret' || has(self.serviceAccountName)",message="serviceAccountName is required with type KubernetesSecret"
// +kubebuilder:validation:XValidation:rule="self.type == 'KubernetesSecret' || !(has(self.secret) || has(self.serviceAccountName) || has(self.refreshInterval) || has(self.creationPolicy) || has(self.deletionPolicy) || has(self.rolloutRestart))",message="secret, serviceAccountName, refreshInterval, creationPolicy, deletionPolicy and rolloutRestart are for type KubernetesSecret only"
// +kubebuilder:validation:XValidation:rule="self.type != 'KubernetesSecret' || self.files.all(f, f.name.matches('^[-._a-zA-Z0-9]+$'))",message="with type KubernetesSecret, file names are Secret keys: letters, digits, '-', '_' and '.'"
// +kubebuilder:validation:XValidation:rule="self.type != 'KubernetesSecret' || self.files.all(f, !has(f.mode))",message="mode is for files of a CSI volume; a Secret's keys have none"
type Spec struct {
	// How the secrets are delivered. `CSI`: files in the pod's CSI volume.
	// `KubernetesSecret`: the module's controller syncs them into a Kubernetes Secret (the
	// values are then in etcd: use it only for applications that read nothing else).
	// Immutable.
	// +kubebuilder:validation:Enum=CSI;KubernetesSecret
	Type string `json:"type"`
	// The store's Kubernetes auth role the pod logs in with.
	// +kubebuilder:validation:MinLength=1
	Role string `json:"role"`
	// Mount path of the auth method in the store: elements of letters, digits, `_`, `-`, `.`
	// (not first) joined by single `/`. Default: the module's `connection.authPath` (`kubernetes`).
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z0-9_-][A-Za-z0-9_.-]*(/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*$')",message="must be a mount path: elements of letters, digits, '_', '-', '.' (not first) joined by single '/', no leading or trailing '/'"
	AuthPath string `json:"authPath,omitempty"`
	// Type of the auth method at `authPath`: `kubernetes` (the store checks the token with
	// TokenReview) or `jwt` (the store checks it with JWKS/OIDC; with an empty `authPath` the mount
	// is `jwt`).
	// +kubebuilder:validation:Enum=kubernetes;jwt
	// +kubebuilder:default=kubernetes
	AuthType string `json:"authType,omitempty"`
	// Store namespace (Vault Enterprise, Stronghold, OpenBao). Default: the module's
	// `connection.namespace`.
	Namespace string `json:"namespace,omitempty"`
	// Address of the store. Default: the module's `connection.url`. Only the module's
	// `connection.url` or an address listed in the module setting `allowedStoreAddresses` (empty by
	// default); any other is refused (`NotAllowed`), and no token is sent there.
	// +kubebuilder:validation:Pattern=`^https?://`
	Address string `json:"address,omitempty"`
	// PEM CA certificate(s) that signed the store's TLS certificate. Default: the module's CA
	// (for the module's store only).
	CACert string `json:"caCert,omitempty"`
	// Audience of the ServiceAccount token sent to the store. Default: `vault`. One of the module
	// setting `allowedAudiences` (default `["vault"]`); the module's `CSIDriver` requests a token for
	// each of them (`tokenRequests`), so an allowed audience works for CSI volumes too. With
	// `KubernetesSecret` the controller requests the token for this audience.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self == '' || self.matches('^[!-~]+$')",message="must be printable ASCII without spaces"
	Audience string `json:"audience,omitempty"`
	// Do not verify the store's TLS certificate. For tests only; refused unless the module setting
	// `allowSkipTLSVerify` is `true`.
	// +kubebuilder:default=false
	SkipTLSVerify bool `json:"skipTLSVerify,omitempty"`
	// The files to write into the volume; with `KubernetesSecret`, the keys of the Secret
	// (`name` is the key). Names are unique.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=128
	// +kubebuilder:validation:XValidation:rule="self.all(f, self.exists_one(g, g.name == f.name))",message="file names must be unique"
	// +kubebuilder:validation:items:XValidation:rule="!(has(self.template) && has(self.source.key) && self.source.key != '')",message="template and source.key exclude each other"
	Files []File `json:"files"`

	// The fields below are for type KubernetesSecret only.

	// `KubernetesSecret` only, and required there: the Secret the controller writes, in the
	// object's namespace.
	Secret *SecretTarget `json:"secret,omitempty"`
	// `KubernetesSecret` only, and required there: the ServiceAccount of the object's namespace
	// whose identity logs in to the store. The controller requests a short-lived token for it
	// (TokenRequest API, `audience`); the store's role and policies for that ServiceAccount apply.
	// Whoever creates or changes the object must be allowed to `create` `serviceaccounts/token` for
	// this ServiceAccount (checked at admission, see below).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	ServiceAccountName string `json:"serviceAccountName,omitempty"`
	// `KubernetesSecret` only: how often the store is read again, a duration such as `30m` or
	// `1h`. Default: `1h`. At least `30s`: imports share the controller's workers and the store.
	// `0`: read once (and again only when the spec changes or the Secret has to be restored).
	// +kubebuilder:validation:Pattern=`^(0|([0-9]+(\.[0-9]+)?(ms|s|m|h))+)$`
	// +kubebuilder:validation:XValidation:rule="self == '0' || duration(self) >= duration('30s')",message="refreshInterval: at least 30s (or 0 to read once)"
	RefreshInterval string `json:"refreshInterval,omitempty"`
	// `KubernetesSecret` only. `Owner` (default): the controller creates the Secret with an
	// ownerReference (controller) to this object. `Orphan`: the same without the ownerReference.
	// `Merge`: the Secret must exist; the controller writes its keys and leaves the others. With
	// `Owner` and `Orphan` an existing Secret that this object did not create is a conflict and is
	// not touched. `Merge`, or naming a Secret that already exists and is not this object's, needs
	// the right to `update` that Secret (checked at admission).
	// +kubebuilder:validation:Enum=Owner;Orphan;Merge
	CreationPolicy string `json:"creationPolicy,omitempty"`
	// `KubernetesSecret` only: what happens to the Secret when this object is deleted. `Delete`:
	// deleted; with `Merge`, only the keys this object wrote are removed. `Retain`: kept, no longer
	// managed (ownerReference and the controller's marks removed). Default: `Retain` with `Orphan`,
	// `Delete` otherwise.
	// +kubebuilder:validation:Enum=Delete;Retain
	DeletionPolicy string `json:"deletionPolicy,omitempty"`
	// Workloads of the object's namespace restarted (as by `kubectl rollout restart`) when the
	// values in the store change (type `KubernetesSecret` only).
	// +kubebuilder:validation:MaxItems=16
	RolloutRestart []RolloutTarget `json:"rolloutRestart,omitempty"`
}

// SecretTarget describes the synced Secret.

// +kubebuilder:validation:XValidation:rule="self.name == oldSelf.name",message="secret.name is immutable; create another SecretsStoreImport for another Secret"
type SecretTarget struct {
	// Name of the Secret (a DNS subdomain). Immutable: another Secret needs another
	// SecretsStoreImport.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
	// Type of the Secret, e.g. `kubernetes.io/basic-auth`, `kubernetes.io/tls`. Default: `Opaque`.
	// A change replaces the Secret (the API does not allow changing a Secret's type). With `Merge`
	// the existing Secret's type stays. `kubernetes.io/service-account-token` is refused: the API
	// server would put a ServiceAccount's token into it.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self != 'kubernetes.io/service-account-token'",message="type kubernetes.io/service-account-token is not allowed: the API server would put a ServiceAccount's token into the Secret"
	Type string `json:"type,omitempty"`
	// Labels set on the Secret (others' labels stay).
	Labels map[string]string `json:"labels,omitempty"`
	// Annotations set on the Secret; no key starting with `secrets-store.deckhouse.io/` (those
	// are the controller's).
	// +kubebuilder:validation:XValidation:rule="!self.exists(k, k.startsWith('secrets-store.deckhouse.io/'))",message="the secrets-store.deckhouse.io/ annotations are the controller's"
	Annotations map[string]string `json:"annotations,omitempty"`
}

// RolloutTarget is a workload of the import's namespace.

type RolloutTarget struct {
	// Kind of the workload.
	// +kubebuilder:validation:Enum=Deployment;StatefulSet;DaemonSet
	Kind string `json:"kind"`
	// Name of the workload in the object's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// File is one file of the volume, or one key of the Secret. Its rule is a
// validation:items marker on Spec.Files: in a type's doc comment gofmt would
// turn the rule's '' into a typographic quote.

type File struct {
	// File name inside the volume, may contain `/` (folders): relative; no `..`, `.` or empty
	// element, no trailing `/`, not starting with `..` (`..data` and the timestamped folders are the
	// volume's own). The CSI driver and the controller apply the same rules.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="!self.startsWith('/')",message="must be a relative path"
	// +kubebuilder:validation:XValidation:rule="!self.split('/').exists(p, p == '..')",message="must not contain '..'"
	// +kubebuilder:validation:XValidation:rule="!self.startsWith('..')",message="must not start with '..' (the volume's own ..data and timestamped folders)"
	// +kubebuilder:validation:XValidation:rule="!self.split('/').exists(p, p == '' || p == '.')",message="must be a clean path: no empty or '.' element, no trailing '/' (a//b, ./a, a/./b, a/)"
	Name string `json:"name"`
	// The value in the store is base64; write the decoded bytes. Same as `encoding: base64`.
	// +kubebuilder:default=false
	DecodeBase64 bool `json:"decodeBase64,omitempty"`
	// How the value is encoded in the store; the file gets the decoded bytes. `""` and `utf-8`:
	// as is.
	// +kubebuilder:validation:Enum="";utf-8;base64;hex
	Encoding string `json:"encoding,omitempty"`
	// File mode bits: `0440` in YAML (octal), `288` in JSON; at most `0777`. Default: `0644`.
	// With a pod `fsGroup` the group can always read (`0400` becomes `0440`).
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=511
	Mode *int32 `json:"mode,omitempty"`
	// A Go template with Sprig functions rendered over the secret's data in place of
	// `source.key`, e.g. `postgres://{{ .user }}:{{ .password }}@db/app`. Not together with a
	// non-empty `source.key`.
	// +kubebuilder:validation:MaxLength=65536
	Template string `json:"template,omitempty"`
	// Where the content comes from.
	Source Source `json:"source"`
}

// Source locates a value in the store. It has a hand-written DeepCopyInto:
// controller-gen copies no map[string]any, and Args is JSON by construction.

// +kubebuilder:object:generate=false
// +kubebuilder:validation:XValidation:rule="!has(self.args) || (has(self.method) && self.method != 'GET')",message="args are only sent with method PUT or POST"
type Source struct {
	// API path of the secret, e.g. `secret/data/myapp` (KV v2; `secret/myapp` is accepted too),
	// `kv/myapp` (KV v1), `pki/issue/web`. vault-csi-provider's `secret/data/myapp?version=N`
	// reads KV v2 version N, like `version`.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="!self.contains('?') || self.matches('^[^?]*[?]version=(0|[1-9][0-9]{0,8})$')",message="the only query a path may have is ?version=N (N a whole number, no leading zeros, at most 9 digits)"
	Path string `json:"path"`
	// Key of the secret to write. Empty (and no `template`): the whole secret as a JSON object.
	// +kubebuilder:validation:MaxLength=1024
	Key string `json:"key,omitempty"`
	// KV v2 version to read; `0` or absent: the latest.
	// +kubebuilder:validation:Minimum=0
	Version int `json:"version,omitempty"`
	// HTTP method of the read. `PUT`/`POST` send `args` as the body, for dynamic
	// secrets and PKI certificates. Files with the same path, method and `args` share one
	// read per volume, so related files (a certificate and its key) match.
	// +kubebuilder:validation:Enum=GET;PUT;POST
	// +kubebuilder:default=GET
	Method string `json:"method,omitempty"`
	// Request body for `PUT`/`POST`, e.g. `{common_name: web.example.com, ttl: 24h}`; only with
	// `method` `PUT` or `POST`.
	// +kubebuilder:validation:Type=object
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	Args map[string]any `json:"args,omitempty"`
}

// DeepCopyInto copies s into out.
func (s *Source) DeepCopyInto(out *Source) {
	*out = *s
	if s.Args != nil {
		out.Args = runtime.DeepCopyJSON(s.Args)
	}
}

// What the module last saw of this object. Never holds secret values.
type Status struct {
	// The `metadata.generation` the status describes.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Observations: `Ready` and `Synced`, one of each type; `Ready` is shown in the `READY`
	// column. A condition's `reason` is machine-readable; its `message` gives the object, the field,
	// the store path or key, never a value. For an import with its own `address` (not the module's
	// store), a store failure is worded as its class (`unreachable`, `TLS`, `timeout`) or HTTP status
	// only, never with the text that store wrote in its answer.
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// When the store was last read successfully (type `KubernetesSecret`). A refresh that finds the
	// data unchanged updates it only once it is an hour old (the controller's
	// `--last-sync-time-interval`), so that unchanged imports cost the API server no write.
	LastSyncTime *metav1.Time `json:"lastSyncTime,omitempty"`
}

// FromUnstructured converts an object read by a dynamic client.
func FromUnstructured(u *unstructured.Unstructured) (*SecretsStoreImport, error) {
	var ssi SecretsStoreImport
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.UnstructuredContent(), &ssi); err != nil {
		return nil, fmt.Errorf("convert %s %s/%s: %w", Kind, u.GetNamespace(), u.GetName(), err)
	}
	return &ssi, nil
}
