// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package attributes

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/deckhouse/secrets-store-integration/images/api/v1alpha1"
	"github.com/deckhouse/secrets-store-integration/images/internal/params"
	"github.com/deckhouse/secrets-store-integration/images/internal/secretmodel"
)

func mode(m int32) *int32 { return &m }

func ssi(files ...v1alpha1.File) *v1alpha1.SecretsStoreImport {
	return &v1alpha1.SecretsStoreImport{
		ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "app"},
		Spec: v1alpha1.Spec{
			Type: "CSI", Role: "app", AuthPath: "k8s", Namespace: "team", Address: "https://vault:8200",
			CACert: "PEM", Audience: "vault", AuthType: "kubernetes", SkipTLSVerify: true,
			Files: files,
		},
	}
}

func TestFromImport(t *testing.T) {
	vc := map[string]string{
		params.PodName: "web-0", params.PodNamespace: "demo", params.PodUID: "uid-1",
		params.ServiceAccountName: "app", params.ServiceAccountToken: `{"vault":{"token":"jwt"}}`,
		params.Ephemeral: "true", ImportAttribute: "app",
	}
	attrs, err := FromImport(ssi(
		v1alpha1.File{Name: "db/password", Mode: mode(0o440), Source: v1alpha1.Source{Path: "secret/data/db", Key: "password", Version: 2}},
		v1alpha1.File{Name: "cert.der", DecodeBase64: true, Source: v1alpha1.Source{Path: "secret/data/db", Key: "cert"}},
		v1alpha1.File{Name: "tls.crt", Source: v1alpha1.Source{Path: "pki/issue/web", Key: "certificate", Method: "PUT", Args: map[string]any{"common_name": "web"}}},
		v1alpha1.File{Name: "dsn", Template: "u={{ .user }}", Source: v1alpha1.Source{Path: "secret/data/db"}},
	), vc)
	if err != nil {
		t.Fatalf("FromImport: %v", err)
	}
	want := map[string]string{
		params.Source: "SecretsStoreImport demo/app", params.RoleName: "app", params.VaultAddress: "https://vault:8200",
		params.VaultAuthMountPath: "k8s", params.VaultNamespace: "team", params.VaultCACert: "PEM",
		params.VaultSkipTLSVerify: "true", params.Audience: "vault", params.VaultAuthType: "kubernetes",
		params.PodName: "web-0", params.PodNamespace: "demo", params.PodUID: "uid-1", params.ServiceAccountName: "app",
		params.ServiceAccountToken: `{"vault":{"token":"jwt"}}`, params.KeepUnchangedFiles: "true",
	}
	for k, v := range want {
		if attrs[k] != v {
			t.Errorf("attrs[%s] = %q, want %q", k, attrs[k], v)
		}
	}
	if _, ok := attrs[ImportAttribute]; ok {
		t.Errorf("volume attribute %s leaked into provider attributes", ImportAttribute)
	}
	p, err := params.FromMap(attrs)
	if err != nil {
		t.Fatalf("params.FromMap: %v", err)
	}
	if len(p.Objects) != 4 {
		t.Fatalf("objects = %+v", p.Objects)
	}
	checks := []struct {
		i    int
		ok   bool
		what string
	}{
		{0, p.Objects[0].FilePermission == 0o440 && p.Objects[0].Version == 2 && p.Objects[0].Ref == "files[0]", "mode, version, ref"},
		{1, p.Objects[1].Encoding == secretmodel.EncodingBase64, "decodeBase64 → encoding base64"},
		{2, p.Objects[2].Method == "PUT" && p.Objects[2].SecretArgs["common_name"] == "web", "method and args"},
		{3, p.Objects[3].Template == "u={{ .user }}" && p.Objects[3].SecretKey == "", "template"},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("objects[%d]: %s wrong: %+v", c.i, c.what, p.Objects[c.i])
		}
	}
}

func TestFromImportRefuses(t *testing.T) {
	cases := []struct {
		name string
		file v1alpha1.File
		want string
	}{
		{"dot dot", v1alpha1.File{Name: "../etc/passwd", Source: v1alpha1.Source{Path: "secret/data/a"}}, `SecretsStoreImport demo/app: files[0].name: "../etc/passwd" contains '..'`},
		{"absolute", v1alpha1.File{Name: "/etc/passwd", Source: v1alpha1.Source{Path: "secret/data/a"}}, `files[0].name: "/etc/passwd" is an absolute path`},
		{"inner dot dot", v1alpha1.File{Name: "a/../../b", Source: v1alpha1.Source{Path: "secret/data/a"}}, "contains '..'"},
		{"encoding clash", v1alpha1.File{Name: "a", DecodeBase64: true, Encoding: "hex", Source: v1alpha1.Source{Path: "p"}}, `SecretsStoreImport demo/app: files[0]: decodeBase64 and encoding "hex"`},
		{"mode", v1alpha1.File{Name: "a", Mode: mode(0o1777), Source: v1alpha1.Source{Path: "p"}}, "files[0].mode"},
		{"no path", v1alpha1.File{Name: "a"}, "files[0].source.path: empty secret path"},
		{"args on GET", v1alpha1.File{Name: "a", Source: v1alpha1.Source{Path: "p", Args: map[string]any{"x": "y"}}}, "files[0].secretArgs"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := FromImport(ssi(c.file), nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
	bad := ssi(v1alpha1.File{Name: "a", Source: v1alpha1.Source{Path: "p"}})
	bad.Spec.Role = ""
	if _, err := FromImport(bad, nil); err == nil || !strings.Contains(err.Error(), "SecretsStoreImport demo/app: roleName is empty") {
		t.Errorf("empty role: error %v", err)
	}
	bad.Spec.Role, bad.Spec.Type = "app", "Env"
	if _, err := FromImport(bad, nil); err == nil || !strings.Contains(err.Error(), `spec.type "Env"`) {
		t.Errorf("type Env: error %v", err)
	}
}

func TestForSecretSync(t *testing.T) {
	sync := func(edit func(*v1alpha1.SecretsStoreImport)) *v1alpha1.SecretsStoreImport {
		s := ssi(v1alpha1.File{Name: "password", Source: v1alpha1.Source{Path: "secret/data/db", Key: "password"}})
		s.Spec.Type = v1alpha1.TypeKubernetesSecret
		s.Spec.ServiceAccountName = "app-sa"
		s.Spec.Secret = &v1alpha1.SecretTarget{Name: "db"}
		edit(s)
		return s
	}
	p, err := ForSecretSync(sync(func(*v1alpha1.SecretsStoreImport) {}))
	if err != nil {
		t.Fatal(err)
	}
	if p.PodNamespace != "demo" || p.ServiceAccount != "app-sa" || p.Role != "app" || p.Address != "https://vault:8200" ||
		p.AuthMount != "k8s" || p.Audience != "vault" || len(p.Objects) != 1 || p.Objects[0].Ref != "files[0]" {
		t.Errorf("parameters %+v", p)
	}
	cases := []struct {
		name string
		edit func(*v1alpha1.SecretsStoreImport)
		want string
	}{
		{"CSI type", func(s *v1alpha1.SecretsStoreImport) { s.Spec.Type = "CSI" }, `spec.type "CSI": want "KubernetesSecret"`},
		{"no service account", func(s *v1alpha1.SecretsStoreImport) { s.Spec.ServiceAccountName = "" }, "spec.serviceAccountName is empty"},
		{"no secret", func(s *v1alpha1.SecretsStoreImport) { s.Spec.Secret = nil }, "spec.secret.name is empty"},
		{"key with slash", func(s *v1alpha1.SecretsStoreImport) { s.Spec.Files[0].Name = "a/b" }, `files[0].name "a/b" is not a Secret key`},
		{"no role", func(s *v1alpha1.SecretsStoreImport) { s.Spec.Role = "" }, "roleName is empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ForSecretSync(sync(c.edit))
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "SecretsStoreImport demo/app: ") {
				t.Fatalf("error %v, want one naming the import and %q", err, c.want)
			}
		})
	}
	if _, err := FromImport(sync(func(*v1alpha1.SecretsStoreImport) {}), nil); err == nil {
		t.Error("the CSI driver accepted a KubernetesSecret import")
	}
}
