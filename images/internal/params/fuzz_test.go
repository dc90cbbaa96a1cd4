// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package params

import (
	"encoding/json"
	"path"
	"strings"
	"testing"

	"github.com/deckhouse/secrets-store-integration/images/internal/store"
)

// FuzzParse feeds the provider's mount attributes parser what a
// SecretProviderClass writer (or a broken driver) can send. Whatever it
// accepts must be safe to act on: every file name stays inside the volume,
// and no error echoes the service-account tokens it was given.
func FuzzParse(f *testing.F) {
	seeds := []map[string]string{
		{RoleName: "app", Objects: "- objectName: a\n  secretPath: secret/data/app\n  secretKey: k\n"},
		{RoleName: "app", Objects: `[{"objectName":"d/e","secretPath":"kv1/x","encoding":"base64","filePermission":384}]`},
		{RoleName: "app", Objects: "- objectName: ../etc/passwd\n  secretPath: secret/data/app\n"},
		{RoleName: "app", Objects: "- objectName: ..data\n  secretPath: secret/data/app\n"},
		{RoleName: "app", Objects: "- objectName: /abs\n  secretPath: secret/data/app\n"},
		{RoleName: "app", Objects: "- objectName: a//b\n  secretPath: secret/data/app\n  method: put\n  secretArgs: {common_name: x}\n"},
		{RoleName: "app", VaultAddress: "https://vault:8200", VaultSkipTLSVerify: "true", Audience: "other", Objects: "- objectName: a\n  secretPath: secret/app\n"},
		{RoleName: "app", ServiceAccountToken: "not-json-canary-token", Objects: "- objectName: a\n  secretPath: p\n"},
		{RoleName: "app", ServiceAccountToken: `{"vault":{"token":"canary-token"}}`, Objects: "- objectName: a\n  secretPath: p\n  template: '{{ .password }}'\n"},
		{RoleName: "app", Objects: "- objectName: a\n  secretPath: secret/data/app?version=2\n  version: 2\n"},
		{RoleName: "app", Objects: "- objectName: a\n  secretPath: secret/../sys?version=1&x=%41\n"},
	}
	for _, s := range seeds {
		raw, err := json.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(raw))
	}
	f.Fuzz(func(t *testing.T, attributes string) {
		p, err := Parse(attributes)
		if err != nil {
			var attrs map[string]string
			if json.Unmarshal([]byte(attributes), &attrs) == nil {
				if tok := attrs[ServiceAccountToken]; len(tok) >= 8 && strings.Contains(err.Error(), tok) {
					t.Fatalf("error echoes the tokens attribute: %v", err)
				}
			}
			return
		}
		if p.Role == "" {
			t.Fatalf("accepted an empty %s", RoleName)
		}
		for _, o := range p.Objects {
			name := o.ObjectName
			if name == "" || path.IsAbs(name) || path.Clean(name) != name || strings.HasPrefix(name, "..") {
				t.Fatalf("accepted file name %q", name)
			}
			for _, el := range strings.Split(name, "/") {
				if el == ".." || el == "." || el == "" {
					t.Fatalf("accepted file name %q with element %q", name, el)
				}
			}
			if o.Method != "GET" && o.Method != "PUT" && o.Method != "POST" {
				t.Fatalf("accepted method %q", o.Method)
			}
			// The query is taken out once, here: the store gets a plain
			// path that climbs nowhere.
			if strings.Contains(o.SecretPath, "?") || store.ValidatePath(o.SecretPath) != nil || o.Version < 0 {
				t.Fatalf("accepted secretPath %q version %d", o.SecretPath, o.Version)
			}
		}
	})
}
