// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package params

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/deckhouse/secrets-store-integration/images/internal/secretmodel"
	"github.com/deckhouse/secrets-store-integration/images/testsupport/validationtable"
)

func TestFromMapAcceptsVaultCSIProviderNames(t *testing.T) {
	p, err := FromMap(map[string]string{
		RoleName:                 "app",
		VaultAddress:             "https://vault:8200",
		VaultKubernetesMountPath: "k8s",
		VaultSkipTLSVerify:       "true",
		ServiceAccountToken:      `{"vault":{"token":"jwt-a","expirationTimestamp":"2026-01-01T00:00:00Z"}}`,
		Objects: `
- objectName: db/password
  secretPath: secret/data/db
  secretKey: password
  filePermission: 0600
- objectName: cert
  secretPath: pki/issue/web
  method: put
  secretArgs:
    common_name: web.example.com
  encoding: Base64
`,
	})
	if err != nil {
		t.Fatalf("FromMap: %v", err)
	}
	if p.AuthMount != "k8s" || !p.SkipVerify || p.Audience != DefaultAudience || p.AuthType != AuthKubernetes {
		t.Errorf("parsed %+v", p)
	}
	if tok, err := Token(p); err != nil || tok != "jwt-a" {
		t.Errorf("Token = %q, %v", tok, err)
	}
	if len(p.Objects) != 2 {
		t.Fatalf("want 2 objects, got %d", len(p.Objects))
	}
	if o := p.Objects[0]; o.FilePermission != 0o600 || o.Method != "GET" || o.Ref != "objects[0]" {
		t.Errorf("objects[0] = %+v", o)
	}
	if o := p.Objects[1]; o.Method != "PUT" || o.Encoding != secretmodel.EncodingBase64 || o.SecretArgs["common_name"] != "web.example.com" {
		t.Errorf("objects[1] = %+v", o)
	}
}

func TestFromMapRefusesBadInput(t *testing.T) {
	base := func() map[string]string {
		return map[string]string{
			Source:   "SecretsStoreImport demo/app",
			RoleName: "app",
			Objects:  `[{"objectName":"a","secretPath":"secret/data/a","ref":"files[0]"}]`,
		}
	}
	cases := []struct {
		name string
		set  map[string]string
		want string
	}{
		{"no role", map[string]string{RoleName: ""}, "SecretsStoreImport demo/app: roleName is empty"},
		{"bad skip", map[string]string{VaultSkipTLSVerify: "maybe"}, `vaultSkipTLSVerify "maybe"`},
		{"bad address", map[string]string{VaultAddress: "vault:8200"}, "want an http(s):// URL"},
		{"bad auth type", map[string]string{VaultAuthType: "ldap"}, `vaultAuthType "ldap"`},
		{"CA directory", map[string]string{VaultCADirectory: "/etc/ssl/certs"}, "vaultCADirectory is not supported: give one bundle file in vaultCACertPath"},
		{"half client cert", map[string]string{VaultTLSClientCertPath: "/c"}, "must be given together"},
		{"no objects", map[string]string{Objects: ""}, "objects is empty"},
		{"unknown field", map[string]string{Objects: `[{"objectName":"a","secretPath":"p","secretKye":"k"}]`}, "unknown field"},
		{"dot dot", map[string]string{Objects: `[{"objectName":"../x","secretPath":"p","ref":"files[0]"}]`}, `files[0].objectName: "../x" contains '..'`},
		{"absolute", map[string]string{Objects: `[{"objectName":"/etc/x","secretPath":"p"}]`}, `objects[0].objectName: "/etc/x" is an absolute path`},
		{"hidden", map[string]string{Objects: `[{"objectName":"..data","secretPath":"p"}]`}, "starts with '..'"},
		{"unclean", map[string]string{Objects: `[{"objectName":"a//b","secretPath":"p"}]`}, "not a clean path"},
		{"duplicate", map[string]string{Objects: `[{"objectName":"a","secretPath":"p"},{"objectName":"a","secretPath":"q"}]`}, `objects[1]: name "a" is also used by objects[0]`},
		{"method", map[string]string{Objects: `[{"objectName":"a","secretPath":"p","method":"DELETE"}]`}, `method "DELETE"`},
		{"args on GET", map[string]string{Objects: `[{"objectName":"a","secretPath":"p","secretArgs":{"x":1}}]`}, "only for method PUT or POST"},
		{"encoding", map[string]string{Objects: `[{"objectName":"a","secretPath":"p","encoding":"rot13"}]`}, `encoding "rot13"`},
		{"mode", map[string]string{Objects: `[{"objectName":"a","secretPath":"p","filePermission":4095}]`}, "only permission bits"},
		{"key and template", map[string]string{Objects: `[{"objectName":"a","secretPath":"p","secretKey":"k","template":"x"}]`}, "exclude each other"},
		{"path dot dot", map[string]string{Objects: `[{"objectName":"a","secretPath":"secret/../sys/x"}]`}, "without '..'"},
		{"tokens", map[string]string{ServiceAccountToken: "secret-jwt-not-json"}, "not a JSON map"},
		{"keep unchanged", map[string]string{KeepUnchangedFiles: "yes"}, `keepUnchangedFiles "yes"`},
		{"query and version differ", map[string]string{Objects: `[{"objectName":"a","secretPath":"secret/data/a?version=1","version":2}]`}, `objects[0]: secretPath "secret/data/a?version=1" asks for version 1, version for 2`},
		{"query not a number", map[string]string{Objects: `[{"objectName":"a","secretPath":"secret/data/a?version=latest"}]`}, `objects[0].secretPath: "secret/data/a?version=latest": the only query a path may have is ?version=N`},
		{"query negative", map[string]string{Objects: `[{"objectName":"a","secretPath":"secret/data/a?version=-1"}]`}, `"secret/data/a?version=-1": the only query a path may have is ?version=N`},
		{"query twice", map[string]string{Objects: `[{"objectName":"a","secretPath":"secret/data/a?version=1&version=2"}]`}, `"secret/data/a?version=1&version=2": the only query a path may have is ?version=N`},
		{"query other key", map[string]string{Objects: `[{"objectName":"a","secretPath":"secret/data/a?list=true"}]`}, `"secret/data/a?list=true": the only query a path may have is ?version=N`},
		{"query bad escape", map[string]string{Objects: `[{"objectName":"a","secretPath":"secret/data/a?version=%zz"}]`}, `objects[0].secretPath: "secret/data/a?version=%zz": the only query a path may have is ?version=N`},
		{"query leading zero", map[string]string{Objects: `[{"objectName":"a","secretPath":"secret/data/a?version=01"}]`}, `"secret/data/a?version=01": the only query a path may have is ?version=N`},
		{"query path dot dot", map[string]string{Objects: `[{"objectName":"a","secretPath":"secret/../sys/x?version=1"}]`}, "objects[0].secretPath: \"secret/../sys/x\": must be relative"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			attrs := base()
			for k, v := range c.set {
				attrs[k] = v
			}
			_, err := FromMap(attrs)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			if strings.Contains(err.Error(), "secret-jwt") {
				t.Errorf("error echoes the token: %v", err)
			}
		})
	}
}

// TestSecretPathVersionQuery: vault-csi-provider's "?version=N" in
// secretPath becomes Version and leaves a plain path; the version field
// may repeat it.
func TestSecretPathVersionQuery(t *testing.T) {
	cases := []struct {
		name, object string
		wantPath     string
		wantVersion  int
	}{
		{"query", `{"objectName":"a","secretPath":"secret/data/a?version=1"}`, "secret/data/a", 1},
		{"query and same version", `{"objectName":"a","secretPath":"secret/data/a?version=3","version":3}`, "secret/data/a", 3},
		{"query zero is the latest", `{"objectName":"a","secretPath":"secret/data/a?version=0"}`, "secret/data/a", 0},
		{"version field alone", `{"objectName":"a","secretPath":"secret/data/a","version":2}`, "secret/data/a", 2},
		{"no version", `{"objectName":"a","secretPath":"secret/data/a"}`, "secret/data/a", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			objects, err := ParseObjects("[" + c.object + "]")
			if err != nil {
				t.Fatalf("ParseObjects: %v", err)
			}
			if o := objects[0]; o.SecretPath != c.wantPath || o.Version != c.wantVersion {
				t.Errorf("got path %q version %d, want %q %d", o.SecretPath, o.Version, c.wantPath, c.wantVersion)
			}
		})
	}
}

// TestWholeResponse: requests without our source attribute are in
// vault-csi-provider's form and get its whole-response output.
func TestWholeResponse(t *testing.T) {
	for source, want := range map[string]bool{"": true, "SecretsStoreImport demo/app": false} {
		p, err := FromMap(map[string]string{Source: source, RoleName: "app", Objects: `[{"objectName":"a","secretPath":"p"}]`})
		if err != nil || p.WholeResponse != want {
			t.Errorf("source %q: WholeResponse %t, %v; want %t", source, p.WholeResponse, err, want)
		}
	}
}

func TestTokenNamesMissingAudience(t *testing.T) {
	p := secretmodel.Parameters{Audience: "vault", Tokens: map[string]string{"other": "x"}}
	if _, err := Token(p); err == nil || !strings.Contains(err.Error(), `audience "vault"`) {
		t.Fatalf("Token error = %v", err)
	}
}

func TestEncodeObjectsRoundTrips(t *testing.T) {
	in := []secretmodel.Object{{ObjectName: "a", SecretPath: "secret/data/a", SecretKey: "k", FilePermission: 0o640, Version: 3, Ref: "files[0]"}}
	s, err := EncodeObjects(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := ParseObjects(s)
	if err != nil {
		t.Fatalf("ParseObjects(%q): %v", s, err)
	}
	if out[0].FilePermission != 0o640 || out[0].Version != 3 || out[0].Method != "GET" || out[0].Ref != "files[0]" {
		t.Errorf("round trip = %+v", out[0])
	}
}

func TestKeepUnchangedFiles(t *testing.T) {
	cases := map[string]bool{"": false, "true": true, "false": false, "1": true}
	for in, want := range cases {
		attrs := map[string]string{RoleName: "app", Objects: `[{"objectName":"a","secretPath":"p"}]`}
		if in != "" {
			attrs[KeepUnchangedFiles] = in
		}
		p, err := FromMap(attrs)
		if err != nil || p.KeepUnchangedFiles != want {
			t.Errorf("%s=%q: got %t, %v; want %t", KeepUnchangedFiles, in, p.KeepUnchangedFiles, err, want)
		}
	}
}

// TestValidationTable runs the table the CRD's rules are also tested with
// on the real API server (test/integration/foundation).
func TestValidationTable(t *testing.T) {
	cases, err := validationtable.Read("testdata/validation.tsv")
	if err != nil {
		t.Fatal(err)
	}
	check := map[string]func(string) error{
		"file": ValidateFileName, "authPath": ValidateAuthPath, "audience": ValidateAudience, "path": ValidateVersionQuery,
	}
	for _, c := range cases {
		if err := check[c.Field](c.Value); (err == nil) != c.OK {
			t.Errorf("%s %q: error %v, want accepted %v", c.Field, c.Value, err, c.OK)
		}
	}
}

// The CRD says the same as the code: its rules hold the code's patterns.
// The CRD is read as YAML, since the generator quotes rules as it likes.
func TestCRDHoldsThePatterns(t *testing.T) {
	raw, err := os.ReadFile("../../../crds/secrets-store-import.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var crd any
	if err := yaml.Unmarshal(raw, &crd); err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	var walk func(any)
	walk = func(n any) {
		switch n := n.(type) {
		case map[string]any:
			for k, v := range n {
				switch k {
				case "rule":
					found[fmt.Sprint(v)] = true
				case "maxLength":
					found[fmt.Sprintf("maxLength: %v", v)] = true
				}
				walk(v)
			}
		case []any:
			for _, v := range n {
				walk(v)
			}
		}
	}
	walk(crd)
	for _, want := range []string{
		"self.matches('" + AuthPathPattern + "')",
		"self.matches('" + AudiencePattern + "')",
		"self.matches('" + VersionQueryPattern + "')",
		fmt.Sprintf("maxLength: %d", MaxAuthPath),
		fmt.Sprintf("maxLength: %d", MaxAudience),
	} {
		ok := found[want]
		for rule := range found {
			ok = ok || strings.Contains(rule, want)
		}
		if !ok {
			t.Errorf("the CRD lacks %s", want)
		}
	}
}
