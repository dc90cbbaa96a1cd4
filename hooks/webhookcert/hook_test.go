// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package webhookcert

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/deckhouse/secrets-store-integration/hooks/hooktest"
	"github.com/deckhouse/secrets-store-integration/hooks/module"
)

var t0 = time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)

const baseValues = `
global:
  discovery:
    clusterDomain: cluster.local
secretsStoreIntegration:
  connectionConfiguration: DiscoverLocalStronghold
  internal: {}
`

func run(t *testing.T, now time.Time, values string, secret *Bundle) hooktest.Result {
	t.Helper()
	objects := map[string][]*unstructured.Unstructured{}
	if secret != nil {
		objects[SecretBinding] = []*unstructured.Unstructured{hooktest.Secret(t, module.Namespace, SecretName, map[string]string{
			"ca.crt": secret.CA, "tls.crt": secret.Crt, "tls.key": secret.Key,
		})}
	}
	return hooktest.Run(t, Config, NewHandler(func() time.Time { return now }), values, objects)
}

func bundleIn(t *testing.T, r hooktest.Result) Bundle {
	t.Helper()
	section := r.Values.GetKeySection(module.ValuesKey)
	internal, _ := section["internal"].(map[string]any)
	wc, ok := internal["webhookCert"].(map[string]any)
	if !ok {
		t.Fatalf("no internal.webhookCert in values: %v", section)
	}
	b := Bundle{}
	b.CA, _ = wc["ca"].(string)
	b.Crt, _ = wc["crt"].(string)
	b.Key, _ = wc["key"].(string)
	return b
}

func mustGenerate(t *testing.T, names []string, at time.Time) Bundle {
	t.Helper()
	b, err := Generate(names, at)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// assertServes checks the bundle the way kube-apiserver will use it: a TLS
// client trusting only the CA, dialing the Service by each of its names.
func assertServes(t *testing.T, b Bundle, names []string, at time.Time) {
	t.Helper()
	if _, err := tls.X509KeyPair([]byte(b.Crt), []byte(b.Key)); err != nil {
		t.Fatalf("crt and key are not a pair: %v", err)
	}
	block, _ := pem.Decode([]byte(b.Crt))
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM([]byte(b.CA)) {
		t.Fatal("ca is not PEM")
	}
	for _, name := range names {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: name, CurrentTime: at}); err != nil {
			t.Errorf("certificate does not verify for %s: %v", name, err)
		}
	}
}

func TestFirstRunGeneratesCertificate(t *testing.T) {
	r := run(t, t0, baseValues, nil)
	b := bundleIn(t, r)
	assertServes(t, b, DNSNames("cluster.local"), t0)
	if got := b.NotAfter(); !got.Equal(t0.Add(Lifetime).Truncate(time.Second)) {
		t.Errorf("NotAfter = %s, want %s", got, t0.Add(Lifetime))
	}
	if v, ok := r.Metric(ExpiryMetric); !ok || int64(v) != b.NotAfter().Unix() {
		t.Errorf("metric %s = %v (set %v), want %d", ExpiryMetric, v, ok, b.NotAfter().Unix())
	}
	if !strings.Contains(r.Log, "generated a new webhook certificate") {
		t.Errorf("no log line about the new certificate:\n%s", r.Log)
	}
}

func TestClusterDomainFromGlobalValues(t *testing.T) {
	values := strings.Replace(baseValues, "clusterDomain: cluster.local", "clusterDomain: corp.example", 1)
	b := bundleIn(t, run(t, t0, values, nil))
	assertServes(t, b, []string{"secrets-store-integration-webhook.d8-secrets-store-integration.svc.corp.example"}, t0)

	withoutGlobal := "secretsStoreIntegration:\n  internal: {}\n"
	b = bundleIn(t, run(t, t0, withoutGlobal, nil))
	assertServes(t, b, []string{"secrets-store-integration-webhook.d8-secrets-store-integration.svc.cluster.local"}, t0)
}

func TestReuseAndRenewal(t *testing.T) {
	names := DNSNames("cluster.local")
	current := mustGenerate(t, names, t0)
	otherNames := mustGenerate(t, DNSNames("other.domain"), t0)
	extraName := mustGenerate(t, append(slices.Clone(names), "evil.example"), t0)
	foreignCA := current
	foreignCA.CA = mustGenerate(t, names, t0).CA
	mismatchedKey := current
	mismatchedKey.Key = otherNames.Key

	cases := []struct {
		name   string
		now    time.Time
		secret Bundle
		reuse  bool
	}{
		{"valid secret is reused", t0.Add(24 * time.Hour), current, true},
		{"just outside the margin is reused", t0.Add(Lifetime - RenewBefore - time.Hour), current, true},
		{"inside the renewal margin is renewed", t0.Add(Lifetime - RenewBefore + time.Hour), current, false},
		{"expired is renewed", t0.Add(Lifetime + time.Hour), current, false},
		{"other cluster domain is renewed", t0.Add(time.Hour), otherNames, false},
		{"extra name is renewed", t0.Add(time.Hour), extraName, false},
		{"certificate not signed by the CA is renewed", t0.Add(time.Hour), foreignCA, false},
		{"key of another certificate is renewed", t0.Add(time.Hour), mismatchedKey, false},
		{"garbage is renewed", t0.Add(time.Hour), Bundle{CA: "x", Crt: "y", Key: "z"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := bundleIn(t, run(t, c.now, baseValues, &c.secret))
			if reused := got == c.secret; reused != c.reuse {
				t.Fatalf("reused = %v, want %v", reused, c.reuse)
			}
			assertServes(t, got, names, c.now.Add(RenewBefore))
		})
	}
}

// Before the first Helm release has written the Secret, a bundle an earlier
// run put into the values must be kept, or every run would change the
// caBundle.
func TestReusesValuesWhenSecretIsAbsent(t *testing.T) {
	first := run(t, t0, baseValues, nil)
	b := bundleIn(t, first)
	if got := bundleIn(t, run(t, t0.Add(time.Hour), first.Values.YamlString(), nil)); got != b {
		t.Fatal("bundle from the values was replaced although it is valid")
	}
}

// The Secret is what the webhook serves; when it and the values disagree,
// the Secret wins so that the caBundle matches the running webhook.
func TestSecretTakesPrecedenceOverValues(t *testing.T) {
	names := DNSNames("cluster.local")
	inValues := mustGenerate(t, names, t0)
	inSecret := mustGenerate(t, names, t0)
	values := baseValues + "    webhookCert:\n" +
		"      ca: " + quote(inValues.CA) + "\n" +
		"      crt: " + quote(inValues.Crt) + "\n" +
		"      key: " + quote(inValues.Key) + "\n"
	values = strings.Replace(values, "internal: {}", "internal:", 1)
	if got := bundleIn(t, run(t, t0, values, &inSecret)); got != inSecret {
		t.Fatal("the Secret's bundle was not preferred")
	}
}

func quote(s string) string {
	return `"` + strings.ReplaceAll(s, "\n", `\n`) + `"`
}
