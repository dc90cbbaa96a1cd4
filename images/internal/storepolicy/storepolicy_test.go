// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package storepolicy

import (
	"flag"
	"strings"
	"testing"

	"github.com/deckhouse/secrets-store-integration/images/internal/params"
	"github.com/deckhouse/secrets-store-integration/images/internal/secretmodel"
)

func TestCheck(t *testing.T) {
	pol := Policy{
		DefaultAddress:   "https://vault.example:8200",
		AllowedAddresses: []string{"https://Other.Example/", "http://plain.example:8080/v"},
		AllowedAudiences: []string{"vault", "team-a"},
	}
	cases := []struct {
		name              string
		address, audience string
		skip              bool
		// want lists substrings of the error; none: allowed.
		want []string
	}{
		{name: "defaults"},
		{name: "the module's store named", address: "https://vault.example:8200/"},
		{name: "the module's store in other case", address: "HTTPS://VAULT.example:8200"},
		{name: "listed, default port", address: "https://other.example:443"},
		{name: "listed with a path", address: "http://plain.example:8080/v/"},
		{name: "another address", address: "https://evil.example:8200", want: []string{`spec.address "https://evil.example:8200"`, "allowedStoreAddresses"}},
		{name: "other port", address: "https://vault.example:8201", want: []string{"spec.address"}},
		{name: "other scheme", address: "http://vault.example:8200", want: []string{"spec.address"}},
		{name: "other path", address: "http://plain.example:8080/w", want: []string{"spec.address"}},
		{name: "user information", address: "https://x@vault.example:8200", want: []string{"spec.address"}},
		{name: "query", address: "https://vault.example:8200?a=b", want: []string{"spec.address"}},
		{name: "skip TLS", skip: true, want: []string{`spec.skipTLSVerify "true"`, "allowSkipTLSVerify"}},
		{name: "allowed audience", audience: "team-a"},
		{name: "other audience", audience: "kubernetes", want: []string{`spec.audience "kubernetes"`, "allowedAudiences is vault, team-a"}},
		{name: "everything", address: "https://evil.example", skip: true, audience: "x",
			want: []string{"spec.address", "spec.skipTLSVerify", "spec.audience"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := pol.Check("SecretsStoreImport ns/a", ImportFields, c.address, c.skip, c.audience)
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("allowed, want a refusal")
			}
			if !IsRefusal(err) || !strings.HasPrefix(err.Error(), "SecretsStoreImport ns/a: ") {
				t.Errorf("error %q: want a Refusal naming the import", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q: want %q", err, w)
				}
			}
		})
	}
}

func TestCheckParametersFieldNames(t *testing.T) {
	pol := Policy{DefaultAddress: "https://vault.example"}
	p := secretmodel.Parameters{Address: "https://evil.example", Audience: params.DefaultAudience}
	if err := pol.CheckParameters(p); err == nil || !strings.HasPrefix(err.Error(), `vaultAddress "https://evil.example"`) {
		t.Errorf("SecretProviderClass request: %v, want the attribute named", err)
	}
	p.Source = "SecretsStoreImport ns/a"
	if err := pol.CheckParameters(p); err == nil || !strings.Contains(err.Error(), `SecretsStoreImport ns/a: spec.address "https://evil.example"`) {
		t.Errorf("import request: %v, want the field named", err)
	}
}

func TestFlags(t *testing.T) {
	var pol Policy
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	pol.AddFlags(fs)
	if strings.Join(pol.AllowedAudiences, ",") != "vault" || pol.AllowSkipTLSVerify || len(pol.AllowedAddresses) != 0 {
		t.Fatalf("defaults: %+v", pol)
	}
	if err := fs.Parse([]string{"--allowed-store-addresses", "https://a, https://b", "--allowed-audiences", "vault,x", "--allow-skip-tls-verify"}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(pol.AllowedAddresses, "|") != "https://a|https://b" || strings.Join(pol.AllowedAudiences, "|") != "vault|x" || !pol.AllowSkipTLSVerify {
		t.Errorf("parsed: %+v", pol)
	}
}
