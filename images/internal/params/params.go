// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package params is the contract between a CSI driver and the Vault provider:
// the attributes of a provider MountRequest. Names follow the upstream
// secrets-store-csi-driver (pod information, service-account tokens) and
// hashicorp/vault-csi-provider (roleName, vaultAddress, objects, ...), so our
// provider runs under the upstream driver and our driver can call an upstream
// provider; names marked "ours" extend them.
//
// Parse validates once, at the edge; everything after it works on a
// secretmodel.Parameters value that is known to be well-formed. The
// package holds the wire contract only: names, parsing and validation.
package params

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/deckhouse/secrets-store-integration/images/internal/secretmodel"
	"github.com/deckhouse/secrets-store-integration/images/internal/store"
	"sigs.k8s.io/yaml"
)

// Pod information kubelet puts in the volume context (podInfoOnMount,
// tokenRequests); the driver passes it on.
const (
	PodName             = "csi.storage.k8s.io/pod.name"
	PodNamespace        = "csi.storage.k8s.io/pod.namespace"
	PodUID              = "csi.storage.k8s.io/pod.uid"
	ServiceAccountName  = "csi.storage.k8s.io/serviceAccount.name"
	ServiceAccountToken = "csi.storage.k8s.io/serviceAccount.tokens"
	Ephemeral           = "csi.storage.k8s.io/ephemeral"
)

// Attribute names of vault-csi-provider.
const (
	RoleName                 = "roleName"
	VaultAddress             = "vaultAddress"
	VaultKubernetesMountPath = "vaultKubernetesMountPath"
	VaultAuthMountPath       = "vaultAuthMountPath"
	VaultNamespace           = "vaultNamespace"
	VaultCACertPath          = "vaultCACertPath"
	// VaultCADirectory is refused: see FromMap.
	VaultCADirectory       = "vaultCADirectory"
	VaultTLSServerName     = "vaultTLSServerName"
	VaultTLSClientCertPath = "vaultTLSClientCertPath"
	VaultTLSClientKeyPath  = "vaultTLSClientKeyPath"
	VaultSkipTLSVerify     = "vaultSkipTLSVerify"
	Audience               = "audience"
	Objects                = "objects"
)

// Attribute names that are ours.
const (
	// VaultCACert is an inline PEM CA bundle (SecretsStoreImport.spec.caCert).
	VaultCACert = "vaultCACert"
	// VaultAuthType is "kubernetes" (default) or "jwt".
	VaultAuthType = "vaultAuthType"
	// Source names the object the request was made from, e.g.
	// "SecretsStoreImport demo/app"; errors start with it.
	Source = "source"
	// KeepUnchangedFiles ("true") lets the provider leave out the files of
	// an object whose version equals the one in the request's
	// current_object_version: the driver keeps that file from the volume.
	// ObjectVersion ids are object names (file paths), as in
	// vault-csi-provider.
	KeepUnchangedFiles = "keepUnchangedFiles"
)

// DefaultAudience is the audience of the service-account token sent to the
// store when the request names none.
const DefaultAudience = "vault"

// Auth types.
const (
	AuthKubernetes = "kubernetes"
	AuthJWT        = "jwt"
)

// Token returns the pod's service-account token for p's audience, from
// kubelet's token map.
func Token(p secretmodel.Parameters) (string, error) {
	if t, ok := p.Tokens[p.Audience]; ok && t != "" {
		return t, nil
	}
	return "", p.Errorf("no service-account token for audience %q in %s (the CSIDriver's tokenRequests must list it)",
		p.Audience, ServiceAccountToken)
}

// Parse reads and validates MountRequest attributes (a JSON object of strings).
func Parse(attributes string) (secretmodel.Parameters, error) {
	var attrs map[string]string
	if err := json.Unmarshal([]byte(attributes), &attrs); err != nil {
		return secretmodel.Parameters{}, fmt.Errorf("decode mount attributes: %w", err)
	}
	return FromMap(attrs)
}

// FromMap validates attributes already decoded.
func FromMap(attrs map[string]string) (secretmodel.Parameters, error) {
	p := secretmodel.Parameters{
		Source:         attrs[Source],
		PodName:        attrs[PodName],
		PodNamespace:   attrs[PodNamespace],
		PodUID:         attrs[PodUID],
		ServiceAccount: attrs[ServiceAccountName],
		Role:           attrs[RoleName],
		Address:        attrs[VaultAddress],
		AuthType:       attrs[VaultAuthType],
		AuthMount:      firstOf(attrs[VaultAuthMountPath], attrs[VaultKubernetesMountPath]),
		Namespace:      attrs[VaultNamespace],
		Audience:       attrs[Audience],
		CACertPEM:      attrs[VaultCACert],
		CACertPath:     attrs[VaultCACertPath],
		ServerName:     attrs[VaultTLSServerName],
		ClientCert:     attrs[VaultTLSClientCertPath],
		ClientKey:      attrs[VaultTLSClientKeyPath],
	}
	if p.Audience == "" {
		p.Audience = DefaultAudience
	}
	if err := ValidateAudience(p.Audience); err != nil {
		return p, p.Errorf("%s: %w", Audience, err)
	}
	if p.AuthMount != "" {
		if err := ValidateAuthPath(p.AuthMount); err != nil {
			return p, p.Errorf("%s: %w", VaultAuthMountPath, err)
		}
	}
	if p.AuthType == "" {
		p.AuthType = AuthKubernetes
	}
	if p.AuthType != AuthKubernetes && p.AuthType != AuthJWT {
		return p, p.Errorf("%s %q: want %q or %q", VaultAuthType, p.AuthType, AuthKubernetes, AuthJWT)
	}
	if p.Role == "" {
		return p, p.Errorf("%s is empty", RoleName)
	}
	if p.Address != "" && !strings.HasPrefix(p.Address, "https://") && !strings.HasPrefix(p.Address, "http://") {
		return p, p.Errorf("%s %q: want an http(s):// URL", VaultAddress, p.Address)
	}
	if attrs[VaultCADirectory] != "" {
		// Silently ignoring it would verify against another CA set
		// than the user named.
		return p, p.Errorf("%s is not supported: give one bundle file in %s, or the PEM in %s", VaultCADirectory, VaultCACertPath, VaultCACert)
	}
	if (p.ClientCert == "") != (p.ClientKey == "") {
		return p, p.Errorf("%s and %s must be given together", VaultTLSClientCertPath, VaultTLSClientKeyPath)
	}
	if s := attrs[VaultSkipTLSVerify]; s != "" {
		v, err := strconv.ParseBool(s)
		if err != nil {
			return p, p.Errorf("%s %q: want true or false", VaultSkipTLSVerify, s)
		}
		p.SkipVerify = v
	}
	if s := attrs[KeepUnchangedFiles]; s != "" {
		v, err := strconv.ParseBool(s)
		if err != nil {
			return p, p.Errorf("%s %q: want true or false", KeepUnchangedFiles, s)
		}
		p.KeepUnchangedFiles = v
	}
	if s := attrs[ServiceAccountToken]; s != "" {
		tokens, err := parseTokens(s)
		if err != nil {
			return p, p.Errorf("%s: %w", ServiceAccountToken, err)
		}
		p.Tokens = tokens
	}
	objects, err := ParseObjects(attrs[Objects])
	if err != nil {
		return p, p.Errorf("%w", err)
	}
	p.Objects = objects
	p.WholeResponse = p.Source == ""
	return p, nil
}

// parseTokens decodes kubelet's {"audience": {"token": "...", ...}} map.
func parseTokens(s string) (map[string]string, error) {
	var raw map[string]struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		// Never echo the input: it holds tokens.
		return nil, fmt.Errorf("not a JSON map of audience to token")
	}
	tokens := make(map[string]string, len(raw))
	for aud, t := range raw {
		tokens[aud] = t.Token
	}
	return tokens, nil
}

// ParseObjects reads and validates the objects attribute (YAML or JSON list).
func ParseObjects(s string) ([]secretmodel.Object, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("%s is empty: nothing to mount", Objects)
	}
	var objects []secretmodel.Object
	if err := yaml.UnmarshalStrict([]byte(s), &objects); err != nil {
		return nil, fmt.Errorf("decode %s: %w", Objects, err)
	}
	if len(objects) == 0 {
		return nil, fmt.Errorf("%s is empty: nothing to mount", Objects)
	}
	seen := make(map[string]string, len(objects))
	for i := range objects {
		o := &objects[i]
		if o.Ref == "" {
			o.Ref = fmt.Sprintf("%s[%d]", Objects, i)
		}
		if err := validateObject(o); err != nil {
			return nil, err
		}
		if prev, ok := seen[o.ObjectName]; ok {
			return nil, fmt.Errorf("%s: name %q is also used by %s", o.Ref, o.ObjectName, prev)
		}
		seen[o.ObjectName] = o.Ref
	}
	return objects, nil
}

func validateObject(o *secretmodel.Object) error {
	if err := ValidateFileName(o.ObjectName); err != nil {
		return fmt.Errorf("%s.objectName: %w", o.Ref, err)
	}
	if err := takeQuery(o); err != nil {
		return err
	}
	if err := store.ValidatePath(o.SecretPath); err != nil {
		return fmt.Errorf("%s.secretPath: %w", o.Ref, err)
	}
	o.Method = strings.ToUpper(o.Method)
	switch o.Method {
	case "":
		o.Method = "GET"
	case "GET", "PUT", "POST":
	default:
		return fmt.Errorf("%s.method %q: want GET, PUT or POST", o.Ref, o.Method)
	}
	if o.Method == "GET" && len(o.SecretArgs) > 0 {
		return fmt.Errorf("%s.secretArgs: only for method PUT or POST", o.Ref)
	}
	switch strings.ToLower(o.Encoding) {
	case secretmodel.EncodingNone, secretmodel.EncodingUTF8, secretmodel.EncodingBase64, secretmodel.EncodingHex:
		o.Encoding = strings.ToLower(o.Encoding)
	default:
		return fmt.Errorf("%s.encoding %q: want utf-8, base64 or hex", o.Ref, o.Encoding)
	}
	if o.FilePermission&^os.ModePerm != 0 {
		return fmt.Errorf("%s.filePermission %#o: only permission bits (0 to 0777)", o.Ref, uint32(o.FilePermission))
	}
	if o.Version < 0 {
		return fmt.Errorf("%s.version %d: must not be negative", o.Ref, o.Version)
	}
	if o.Template != "" && o.SecretKey != "" {
		return fmt.Errorf("%s: secretKey and template exclude each other", o.Ref)
	}
	return nil
}

// takeQuery moves vault-csi-provider's "?version=N" out of SecretPath into
// Version, so that everything after validation sees a plain path and one
// version field. Other queries are refused: the store would get them on no
// other path of ours, and a typo must not read the latest version silently.
func takeQuery(o *secretmodel.Object) error {
	p, query, found := strings.Cut(o.SecretPath, "?")
	if !found {
		return nil
	}
	if err := ValidateVersionQuery(o.SecretPath); err != nil {
		return fmt.Errorf("%s.secretPath: %w", o.Ref, err)
	}
	v, err := strconv.Atoi(strings.TrimPrefix(query, "version="))
	if err != nil {
		return fmt.Errorf("%s.secretPath %q: %w", o.Ref, o.SecretPath, err)
	}
	if o.Version != 0 && o.Version != v {
		return fmt.Errorf("%s: secretPath %q asks for version %d, version for %d: give one", o.Ref, o.SecretPath, v, o.Version)
	}
	o.SecretPath, o.Version = p, v
	return nil
}

// VersionQueryPattern is what a path with a query may be: vault-csi-provider's
// "?version=N", N without leading zeros and short enough for an int. The
// CRD's rule on spec.files[].source.path is this same expression.
const VersionQueryPattern = `^[^?]*[?]version=(0|[1-9][0-9]{0,8})$`

var versionQueryRE = regexp.MustCompile(VersionQueryPattern)

// ValidateVersionQuery refuses a path whose query is not "?version=N"; a
// path without '?' passes.
func ValidateVersionQuery(p string) error {
	if strings.Contains(p, "?") && !versionQueryRE.MatchString(p) {
		return fmt.Errorf("%q: the only query a path may have is ?version=N (N a whole number, no leading zeros, at most 9 digits)", p)
	}
	return nil
}

// ValidateFileName refuses names that would leave the volume: absolute
// paths, '..' elements, empty or unclean names. The CRD checks the same
// rules at admission (CEL on spec.files[].name); testdata/validation.tsv is
// the table both are tested with.
func ValidateFileName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty file name")
	case name == ".":
		return fmt.Errorf("%q is the volume itself", name)
	case strings.HasPrefix(name, "/"):
		return fmt.Errorf("%q is an absolute path", name)
	case strings.Contains("/"+name+"/", "/../"):
		return fmt.Errorf("%q contains '..'", name)
	case strings.HasPrefix(name, ".."):
		// The volume's own bookkeeping (..data, ..timestamp folders).
		return fmt.Errorf("%q starts with '..'", name)
	case path.Clean(name) != name:
		return fmt.Errorf("%q is not a clean path (want %q)", name, path.Clean(name))
	}
	return nil
}

// AuthPathPattern is what an auth mount path may be: elements of letters,
// digits, '_', '-' and '.', none starting with '.', joined by single '/'.
// The login goes to auth/<path>/login: a '..' or an empty element would
// send the pod's token to another endpoint of the store. The CRD's rule on
// spec.authPath is this same expression.
const AuthPathPattern = `^[A-Za-z0-9_-][A-Za-z0-9_.-]*(/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*$`

// AudiencePattern is what a token audience may be: printable ASCII without
// spaces, as the CRD's rule on spec.audience says.
const AudiencePattern = `^[!-~]+$`

// MaxAuthPath and MaxAudience bound both, here and in the CRD.
const MaxAuthPath, MaxAudience = 256, 253

var (
	authPathRE = regexp.MustCompile(AuthPathPattern)
	audienceRE = regexp.MustCompile(AudiencePattern)
)

// ValidateAuthPath refuses an auth mount path that is not AuthPathPattern.
func ValidateAuthPath(mount string) error {
	if len(mount) > MaxAuthPath || !authPathRE.MatchString(mount) {
		return fmt.Errorf("%q is not a mount path: want elements of letters, digits, '_', '-', '.' (not first) joined by '/', at most %d characters", mount, MaxAuthPath)
	}
	return nil
}

// ValidateAudience refuses an audience that is not AudiencePattern.
func ValidateAudience(aud string) error {
	if len(aud) > MaxAudience || !audienceRE.MatchString(aud) {
		return fmt.Errorf("%q: want printable ASCII without spaces, at most %d characters", aud, MaxAudience)
	}
	return nil
}

// EncodeObjects renders objects as the objects attribute.
func EncodeObjects(objects []secretmodel.Object) (string, error) {
	data, err := yaml.Marshal(objects)
	if err != nil {
		return "", fmt.Errorf("encode %s: %w", Objects, err)
	}
	return string(data), nil
}

func firstOf(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
