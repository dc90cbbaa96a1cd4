// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package storepolicy holds what the module's settings allow a
// SecretsStoreImport (or a SecretProviderClass reaching the provider) to ask
// for beyond the module's own store connection: other store addresses,
// skipping TLS verification, token audiences. Writing an import must not
// give more than its writer already has, so every component that sends a
// token (the provider, the controller) and the admission webhook apply the
// same Policy, from the same flags. So does the NRI plugin for the pods of
// containerd delivery, whose tokens it sends on their behalf.
package storepolicy

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/deckhouse/secrets-store-integration/images/api/v1alpha1"
	"github.com/deckhouse/secrets-store-integration/images/internal/params"
	"github.com/deckhouse/secrets-store-integration/images/internal/secretmodel"
)

// Policy is what the module settings allow.
type Policy struct {
	// DefaultAddress is the module's own store (connection.url): always
	// allowed.
	DefaultAddress string
	// AllowedAddresses are other store addresses an object may name
	// (setting allowedStoreAddresses).
	AllowedAddresses []string
	// AllowSkipTLSVerify lets an object turn TLS verification off
	// (setting allowSkipTLSVerify).
	AllowSkipTLSVerify bool
	// AllowedAudiences are the token audiences an object may name
	// (setting allowedAudiences); empty means params.DefaultAudience only.
	AllowedAudiences []string
}

// Fields are the names errors give the three checked values: those of the
// object the user wrote.
type Fields struct{ Address, SkipTLSVerify, Audience string }

// ImportFields name the fields of a SecretsStoreImport.
var ImportFields = Fields{Address: "spec.address", SkipTLSVerify: "spec.skipTLSVerify", Audience: "spec.audience"}

// AttributeFields name the attributes of a SecretProviderClass.
var AttributeFields = Fields{Address: params.VaultAddress, SkipTLSVerify: params.VaultSkipTLSVerify, Audience: params.Audience}

// AnnotationFields name the annotations of a pod of containerd delivery,
// whose token the module's NRI plugin, not the pod itself, sends to the
// store the annotations name.
var AnnotationFields = Fields{Address: "annotation secrets-store.deckhouse.io/addr",
	SkipTLSVerify: "annotation secrets-store.deckhouse.io/tls-skip-verify", Audience: "the webhook's token audience"}

// Flag names, the same in every binary.
const (
	FlagAllowedAddresses = "allowed-store-addresses"
	FlagAllowSkipTLS     = "allow-skip-tls-verify"
	FlagAllowedAudiences = "allowed-audiences"
)

// AddFlags registers the policy's flags; DefaultAddress is the binary's own
// default-store flag and is set by the caller.
func (p *Policy) AddFlags(fs *flag.FlagSet) {
	fs.Func(FlagAllowedAddresses, "comma-separated store addresses an import may name besides the default store", func(s string) error {
		p.AllowedAddresses = splitList(s)
		return nil
	})
	fs.BoolVar(&p.AllowSkipTLSVerify, FlagAllowSkipTLS, false, "let imports turn off TLS verification of the store (skipTLSVerify)")
	p.AllowedAudiences = []string{params.DefaultAudience}
	fs.Func(FlagAllowedAudiences, "comma-separated token audiences an import may name (default \"vault\")", func(s string) error {
		p.AllowedAudiences = splitList(s)
		return nil
	})
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// Refusal is a value the policy does not allow. Its message names the
// object, the field and the setting that would allow it.
type Refusal struct {
	Source, Field, Setting, Value string
}

func (r *Refusal) Error() string {
	msg := fmt.Sprintf("%s %q is not allowed by the module settings (%s)", r.Field, r.Value, r.Setting)
	if r.Source != "" {
		msg = r.Source + ": " + msg
	}
	return msg
}

// IsRefusal reports whether err holds a Refusal.
func IsRefusal(err error) bool {
	var r *Refusal
	return errors.As(err, &r)
}

// Check returns the refusals of address ("" is the default store), skip
// and audience ("" is the default audience), named with f and prefixed
// with source; nil if all are allowed.
func (p Policy) Check(source string, f Fields, address string, skip bool, audience string) error {
	var errs []error
	if address != "" && !p.addressAllowed(address) {
		errs = append(errs, &Refusal{Source: source, Field: f.Address, Value: address,
			Setting: "only the module's connection.url or an address listed in allowedStoreAddresses"})
	}
	if skip && !p.AllowSkipTLSVerify {
		errs = append(errs, &Refusal{Source: source, Field: f.SkipTLSVerify, Value: "true",
			Setting: "allowSkipTLSVerify is false: the store's certificate is always verified"})
	}
	if audience == "" {
		audience = params.DefaultAudience
	}
	if !slices.Contains(p.Audiences(), audience) {
		errs = append(errs, &Refusal{Source: source, Field: f.Audience, Value: audience,
			Setting: "allowedAudiences is " + strings.Join(p.Audiences(), ", ")})
	}
	return errors.Join(errs...)
}

// CheckParameters checks a provider request or an import's parameters.
// Requests made from a SecretsStoreImport (our driver, the controller) name
// its fields; others the SecretProviderClass attributes.
func (p Policy) CheckParameters(pp secretmodel.Parameters) error {
	f := AttributeFields
	if strings.HasPrefix(pp.Source, v1alpha1.Kind+" ") {
		f = ImportFields
	}
	return p.Check(pp.Source, f, pp.Address, pp.SkipVerify, pp.Audience)
}

// CheckImport checks the spec of ssi.
func (p Policy) CheckImport(ssi *v1alpha1.SecretsStoreImport) error {
	source := fmt.Sprintf("%s %s/%s", v1alpha1.Kind, ssi.Namespace, ssi.Name)
	return p.Check(source, ImportFields, ssi.Spec.Address, ssi.Spec.SkipTLSVerify, ssi.Spec.Audience)
}

// Audiences are the audiences allowed.
func (p Policy) Audiences() []string {
	if len(p.AllowedAudiences) == 0 {
		return []string{params.DefaultAudience}
	}
	return p.AllowedAudiences
}

func (p Policy) addressAllowed(address string) bool {
	want, ok := normalize(address)
	if !ok {
		return false
	}
	for _, a := range append([]string{p.DefaultAddress}, p.AllowedAddresses...) {
		if n, ok := normalize(a); ok && n == want {
			return true
		}
	}
	return false
}

// normalize makes equal addresses compare equal: scheme and host in lower
// case, the default port explicit, no trailing slash. Addresses with user
// information, a query or a fragment are never equal to anything: the
// token would go where the settings do not say.
func normalize(address string) (string, bool) {
	u, err := url.Parse(address)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	host, port := strings.ToLower(u.Hostname()), u.Port()
	switch {
	case port != "":
	case scheme == "https":
		port = "443"
	case scheme == "http":
		port = "80"
	default:
		return "", false
	}
	return scheme + "://" + net.JoinHostPort(host, port) + strings.TrimRight(u.EscapedPath(), "/"), true
}

// serviceAccountTokenType is corev1.SecretTypeServiceAccountToken, spelled
// here so that the binaries without the core API types (the NRI plugin)
// need not link them for one string.
const serviceAccountTokenType = "kubernetes.io/service-account-token"

// CheckSecretType refuses a Secret type the controller must never write: a
// service-account-token Secret makes the API server fill in a token of the
// ServiceAccount it names, which the import's writer may not be allowed to
// have.
func CheckSecretType(ssi *v1alpha1.SecretsStoreImport) error {
	if ssi.Spec.Secret != nil && ssi.Spec.Secret.Type == serviceAccountTokenType {
		return fmt.Errorf("%s %s/%s: spec.secret.type %q is not allowed: the API server would put a token of a ServiceAccount into it",
			v1alpha1.Kind, ssi.Namespace, ssi.Name, ssi.Spec.Secret.Type)
	}
	return nil
}
