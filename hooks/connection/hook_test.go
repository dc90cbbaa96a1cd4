// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package connection

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/deckhouse/secrets-store-integration/hooks/hooktest"
	"github.com/deckhouse/secrets-store-integration/hooks/module"
	"github.com/deckhouse/secrets-store-integration/hooks/webhookcert"
)

// pki is a CA with a leaf it issued, and an unrelated self-signed leaf.
type pki struct{ ca, leaf, selfSigned string }

func newPKI(t *testing.T) pki {
	t.Helper()
	b, err := webhookcert.Generate([]string{"stronghold.d8-stronghold"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return pki{ca: b.CA, leaf: b.Crt, selfSigned: selfSignedLeaf(t)}
}

func selfSignedLeaf(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "stronghold.d8-stronghold"},
		DNSNames:     []string{"stronghold.d8-stronghold"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func values(settings string) string {
	return "secretsStoreIntegration:\n  internal: {}\n" + settings
}

func strongholdSecret(t *testing.T, data map[string]string) map[string][]*unstructured.Unstructured {
	return map[string][]*unstructured.Unstructured{
		StrongholdBinding: {hooktest.Secret(t, StrongholdNamespace, StrongholdSecret, data)},
	}
}

func connectionIn(t *testing.T, r hooktest.Result) map[string]any {
	t.Helper()
	internal, _ := r.Values.GetKeySection(module.ValuesKey)["internal"].(map[string]any)
	conn, ok := internal["connection"].(map[string]any)
	if !ok {
		t.Fatalf("no internal.connection in values:\n%s", r.Values.YamlString())
	}
	return conn
}

func TestDiscoverLocalStronghold(t *testing.T) {
	p := newPKI(t)
	cases := []struct {
		name       string
		settings   string
		secret     map[string]string // nil: the Secret does not exist
		wantCA     string
		discovered bool
		wantLog    string
		wantAuth   string
		wantNS     string
	}{
		{
			name:       "ca.crt is trusted",
			settings:   "  connectionConfiguration: DiscoverLocalStronghold\n",
			secret:     map[string]string{"ca.crt": p.ca, "tls.crt": p.leaf, "tls.key": "secret key"},
			wantCA:     p.ca,
			discovered: true,
			wantAuth:   "kubernetes",
		},
		{
			name:       "default mode is discovery",
			settings:   "",
			secret:     map[string]string{"ca.crt": p.ca},
			wantCA:     p.ca,
			discovered: true,
			wantAuth:   "kubernetes",
		},
		{
			name:       "without ca.crt the CA of the tls.crt chain",
			settings:   "  connectionConfiguration: DiscoverLocalStronghold\n",
			secret:     map[string]string{"tls.crt": p.leaf + p.ca},
			wantCA:     p.ca,
			discovered: true,
			wantAuth:   "kubernetes",
		},
		{
			name:       "without ca.crt a self-signed tls.crt",
			settings:   "  connectionConfiguration: DiscoverLocalStronghold\n",
			secret:     map[string]string{"tls.crt": p.selfSigned},
			wantCA:     p.selfSigned,
			discovered: true,
			wantAuth:   "kubernetes",
		},
		{
			name:     "auth path and namespace from the settings",
			settings: "  connectionConfiguration: DiscoverLocalStronghold\n  connection:\n    authPath: k8s-prod\n    namespace: team-a\n",
			secret:   map[string]string{"ca.crt": p.ca}, wantCA: p.ca, discovered: true,
			wantAuth: "k8s-prod", wantNS: "team-a",
		},
		{
			name:     "Secret absent",
			settings: "  connectionConfiguration: DiscoverLocalStronghold\n",
			wantLog:  "local Stronghold not found: Secret d8-stronghold/stronghold-tls does not exist",
			wantAuth: "kubernetes",
		},
		{
			name:     "a leaf without its issuer is not trusted",
			settings: "  connectionConfiguration: DiscoverLocalStronghold\n",
			secret:   map[string]string{"tls.crt": p.leaf},
			wantLog:  "no ca.crt, and tls.crt holds no CA certificate to trust",
			wantAuth: "kubernetes",
		},
		{
			name:     "ca.crt that is not PEM",
			settings: "  connectionConfiguration: DiscoverLocalStronghold\n",
			secret:   map[string]string{"ca.crt": "not a certificate"},
			wantLog:  "ca.crt: no PEM certificate",
			wantAuth: "kubernetes",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var objects map[string][]*unstructured.Unstructured
			if c.secret != nil {
				objects = strongholdSecret(t, c.secret)
			}
			r := hooktest.Run(t, Config, Handle, values(c.settings), objects)
			conn := connectionIn(t, r)

			if conn["url"] != StrongholdURL {
				t.Errorf("url = %v, want %s", conn["url"], StrongholdURL)
			}
			if str(conn["caCert"]) != c.wantCA {
				t.Errorf("caCert = %q, want %q", conn["caCert"], c.wantCA)
			}
			if str(conn["authPath"]) != c.wantAuth || str(conn["namespace"]) != c.wantNS {
				t.Errorf("authPath, namespace = %v, %v; want %v, %v", conn["authPath"], conn["namespace"], c.wantAuth, c.wantNS)
			}
			if conn["discovered"] != c.discovered {
				t.Errorf("discovered = %v, want %v", conn["discovered"], c.discovered)
			}
			if v, ok := r.Metric(DiscoveredMetric); !ok || v != boolGauge(c.discovered) {
				t.Errorf("metric %s = %v (set %v), want %v", DiscoveredMetric, v, ok, boolGauge(c.discovered))
			}
			if c.wantLog != "" && !strings.Contains(r.Log, c.wantLog) {
				t.Errorf("log lacks %q:\n%s", c.wantLog, r.Log)
			}
			if c.wantLog == "" && strings.Contains(r.Log, `"level":"error"`) {
				t.Errorf("unexpected error log:\n%s", r.Log)
			}
			if strings.Contains(r.Values.YamlString(), "secret key") {
				t.Error("the Stronghold private key reached the values")
			}
		})
	}
}

func TestManual(t *testing.T) {
	p := newPKI(t)
	cases := []struct {
		name     string
		settings string
		want     map[string]any
	}{
		{
			name: "every field copied",
			settings: "  connectionConfiguration: Manual\n  connection:\n    url: https://vault.example.com:8200\n" +
				"    caCert: " + quote(p.ca) + "\n    authPath: k8s\n    namespace: team-a\n",
			want: map[string]any{"url": "https://vault.example.com:8200", "caCert": p.ca, "authPath": "k8s", "namespace": "team-a"},
		},
		{
			name:     "defaults: kubernetes auth, system CAs",
			settings: "  connectionConfiguration: Manual\n  connection:\n    url: https://vault.example.com\n",
			want:     map[string]any{"url": "https://vault.example.com", "authPath": "kubernetes"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// The local Stronghold exists but Manual must not take anything from it.
			r := hooktest.Run(t, Config, Handle, values(c.settings), strongholdSecret(t, map[string]string{"ca.crt": newPKI(t).ca}))
			conn := connectionIn(t, r)
			if len(conn) != len(c.want) {
				t.Errorf("internal.connection = %v, want exactly %v", conn, c.want)
			}
			for k, v := range c.want {
				if conn[k] != v {
					t.Errorf("%s = %q, want %q", k, conn[k], v)
				}
			}
			if _, ok := r.Metric(DiscoveredMetric); ok {
				t.Errorf("metric %s set in Manual mode", DiscoveredMetric)
			}
		})
	}
}

// The schema refuses Manual without a URL; should such values reach the
// hook anyway, it fails rather than render a connection to nowhere.
func TestManualWithoutURLFailsTheHook(t *testing.T) {
	_, err := hooktest.Execute(t, Config, Handle, values("  connectionConfiguration: Manual\n"), nil)
	if err == nil || !strings.Contains(err.Error(), "connectionConfiguration is Manual but connection.url is empty") {
		t.Fatalf("err = %v, want the missing URL named", err)
	}
}

// str reads an optional string value: absent is empty.
func str(v any) string {
	s, _ := v.(string)
	return s
}

func quote(s string) string {
	return `"` + strings.ReplaceAll(s, "\n", `\n`) + `"`
}
