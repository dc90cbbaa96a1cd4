// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package settings

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flant/addon-operator/pkg/utils"
	"github.com/flant/addon-operator/pkg/values/validation"
	"sigs.k8s.io/yaml"
)

var openapiDir = filepath.Join("..", "..", "openapi")

// valuesKey is the module's values key (hooks/module.ValuesKey, not
// imported: this module links addon-operator, the hooks module module-sdk,
// and their logging libraries cannot share one build).
const valuesKey = "secretsStoreIntegration"

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(openapiDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func storage(t *testing.T) *validation.SchemaStorage {
	t.Helper()
	s, err := validation.NewSchemaStorage(readFile(t, "config-values.yaml"), readFile(t, "values.yaml"))
	if err != nil {
		t.Fatalf("addon-operator refuses the schemas: %v", err)
	}
	return s
}

func parse(t *testing.T, text string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(text), &m); err != nil {
		t.Fatalf("test settings: %v", err)
	}
	if m == nil {
		m = map[string]any{}
	}
	return m
}

func validateSettings(s *validation.SchemaStorage, settings map[string]any) error {
	return s.ValidateConfigValues(valuesKey, utils.Values{valuesKey: settings})
}

const pemCA = `-----BEGIN CERTIFICATE-----
MIIBizCCATGgAwIBAgIUBryXmYOtD1Lb7mTyEacPvurduPkwCgYIKoZIzj0EAwIw
GzEZMBcGA1UEAwwQdmF1bHQtZXhhbXBsZS1jYTAeFw0yNjExMzAwODU2NTdaFw0z
NjExMjcwODU2NTdaMBsxGTAXBgNVBAMMEHZhdWx0LWV4YW1wbGUtY2EwWTATBgcq
hkjOPQIBBggqhkjOPQMBBwNCAAQua0529NozBxneoZoMLrenobH3yHpbwV4t3uXr
PyjEf/Ht5yGPllsuZnsG/vMiMdNQbAja8aS5ggksT2OzLFIZo1MwUTAdBgNVHQ4E
FgQUSuyP6hpz4DbzdMIR3r7OEc9RjcAwHwYDVR0jBBgwFoAUSuyP6hpz4DbzdMIR
3r7OEc9RjcAwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiEA7WLR
F8qjNXwtYlOTo+tlBrexC340dQTQDLrl+z+BHfkCIHSBcDL9n07gppVcBF8mQX+V
yh/uDRK4J9W5+WXXEedv
-----END CERTIFICATE-----
`

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n"+prefix)
}

func TestSettingsAccepted(t *testing.T) {
	s := storage(t)
	cases := map[string]string{
		"empty: all defaults":   ``,
		"discover":              `connectionConfiguration: DiscoverLocalStronghold`,
		"manual with url":       "connectionConfiguration: Manual\nconnection:\n  url: https://vault.example.com:8200",
		"manual, url with path": "connectionConfiguration: Manual\nconnection:\n  url: https://10.0.0.5:8200/vault",
		// The shape existing users' ModuleConfigs have: it must keep working.
		"existing users' settings": "connectionConfiguration: Manual\nconnection:\n  url: https://vault.example.com\n" +
			"  caCert: |\n" + indent(pemCA, "    ") + "\n  authPath: kubernetes\n  namespace: team-a",
		"empty caCert means system CAs": "connectionConfiguration: Manual\nconnection:\n  url: https://vault.example.com\n  caCert: \"\"",
		"two CA certificates":           "connection:\n  caCert: |\n" + indent(pemCA+pemCA, "    "),
		"discover with auth path":       "connection:\n  authPath: k8s-prod\n  namespace: team-a",
		"volume limits":                 "volumeSizeLimit: 64Mi\nvolumeInodeLimit: 4096",
		"component settings": "logLevel: Debug\nrotationInterval: 1h30m\nhighAvailability: false\n" +
			"nodeSelector:\n  kubernetes.io/os: linux\n  node-role.kubernetes.io/worker: \"\"\ntolerations:\n- operator: Exists\n- key: dedicated\n  operator: Equal\n  value: x\n  effect: NoExecute\n  tolerationSeconds: 30",
		"allowlists": "allowedStoreAddresses: [https://vault-b.example.com:8200, http://10.0.0.6:8200/v]\nallowSkipTLSVerify: true\n" +
			"allowedAudiences: [vault, team-a-store]",
		"containerd delivery":               "containerdDelivery:\n  enabled: true\n  nodeGroups: [worker, system]",
		"containerd delivery off, defaults": "containerdDelivery: {}",
	}
	for name, text := range cases {
		t.Run(name, func(t *testing.T) {
			if err := validateSettings(s, parse(t, text)); err != nil {
				t.Fatalf("refused: %v", err)
			}
		})
	}
}

func TestSettingsRefused(t *testing.T) {
	s := storage(t)
	cases := []struct {
		name, settings, message string
	}{
		{"http url", "connectionConfiguration: Manual\nconnection:\n  url: http://vault.example.com:8200",
			"connection.url should match '^https://"},
		{"Manual without connection", "connectionConfiguration: Manual",
			"connectionConfiguration: Manual requires connection.url (the store's HTTPS address)"},
		{"Manual without url", "connectionConfiguration: Manual\nconnection:\n  authPath: kubernetes",
			"connectionConfiguration: Manual requires connection.url (the store's HTTPS address)"},
		{"Manual with empty url", "connectionConfiguration: Manual\nconnection:\n  url: \"\"",
			"connectionConfiguration: Manual requires connection.url (the store's HTTPS address)"},
		{"caCert not PEM", "connection:\n  caCert: MIIBizCCATGgAwIBAgIU",
			"connection.caCert should match '^(\\s*-----BEGIN CERTIFICATE-----"},
		{"caCert private key", "connection:\n  caCert: |\n    -----BEGIN PRIVATE KEY-----\n    MIGH\n    -----END PRIVATE KEY-----",
			"connection.caCert should match"},
		{"unknown top-level field", "connectionConfiguration: Manual\nconnection:\n  url: https://v\nvaultAddress: https://v",
			"secretsStoreIntegration.vaultAddress is a forbidden property"},
		{"unknown connection field", "connection:\n  token: s.abc",
			"secretsStoreIntegration.connection.token is a forbidden property"},
		{"unknown mode", "connectionConfiguration: Auto",
			"connectionConfiguration should be one of [DiscoverLocalStronghold Manual]"},
		{"rotationInterval in words", "rotationInterval: 2 minutes",
			"rotationInterval should match '^([0-9]+(h|m|s))+$'"},
		{"rotationInterval in days", "rotationInterval: 1d",
			"rotationInterval should match"},
		{"rotationInterval negative", "rotationInterval: -2m",
			"rotationInterval should match"},
		{"volumeSizeLimit without unit", "volumeSizeLimit: 8388608",
			"volumeSizeLimit must be of type string"},
		{"volumeSizeLimit in MB", "volumeSizeLimit: 8M",
			"volumeSizeLimit should match '^[1-9][0-9]*(Ki|Mi|Gi)$'"},
		{"volumeInodeLimit too small", "volumeInodeLimit: 4",
			"volumeInodeLimit should be greater than or equal to 16"},
		{"logLevel lower case", "logLevel: debug",
			"logLevel should be one of [Debug Info Warn Error]"},
		{"nodeSelector value not a string", "nodeSelector:\n  dedicated: 1",
			"nodeSelector.dedicated must be of type string"},
		{"toleration with unknown operator", "tolerations:\n- key: a\n  operator: In",
			"tolerations.operator should be one of [Exists Equal]"},
		{"toleration with unknown field", "tolerations:\n- key: a\n  values: [b]",
			"tolerations.values is a forbidden property"},
		{"highAvailability not boolean", "highAvailability: \"yes\"",
			"highAvailability must be of type boolean"},
		{"store address not a URL", "allowedStoreAddresses: [vault.example.com]",
			"allowedStoreAddresses should match"},
		{"no audience at all", "allowedAudiences: []",
			"allowedAudiences should have at least 1 items"},
		{"empty audience", "allowedAudiences: [\"\"]",
			"allowedAudiences should be at least 1 chars long"},
		{"allowSkipTLSVerify not boolean", "allowSkipTLSVerify: \"yes\"",
			"allowSkipTLSVerify must be of type boolean"},
		{"containerd delivery not boolean", "containerdDelivery:\n  enabled: \"yes\"",
			"containerdDelivery.enabled must be of type boolean"},
		{"containerd delivery on no node group", "containerdDelivery:\n  nodeGroups: []",
			"containerdDelivery.nodeGroups should have at least 1 items"},
		{"containerd delivery unknown field", "containerdDelivery:\n  requestTimeout: 5s",
			"containerdDelivery.requestTimeout is a forbidden property"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := validateSettings(s, parse(t, c.settings))
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), c.message) {
				t.Fatalf("error %q does not say %q", err, c.message)
			}
		})
	}
}

// Every x-examples entry, of the whole settings and of single fields, must
// be accepted, and every CA in them must be a certificate Go can read: the
// documentation is generated from them.
func TestExamplesAccepted(t *testing.T) {
	s := storage(t)
	var schema map[string]any
	if err := yaml.Unmarshal(readFile(t, "config-values.yaml"), &schema); err != nil {
		t.Fatal(err)
	}
	examples := settingsExamples(schema, nil)
	if len(examples) < 5 {
		t.Fatalf("found only %d examples; the walk over the schema is broken", len(examples))
	}
	for i, ex := range examples {
		if err := validateSettings(s, ex); err != nil {
			t.Errorf("example %d %v refused: %v", i, ex, err)
		}
		if conn, ok := ex["connection"].(map[string]any); ok {
			if ca, ok := conn["caCert"].(string); ok {
				assertCertificates(t, ca)
			}
		}
	}
}

// settingsExamples turns each x-examples entry at path (property names from
// the root) into whole settings with the example at its place.
func settingsExamples(node map[string]any, path []string) []map[string]any {
	var out []map[string]any
	if list, ok := node["x-examples"].([]any); ok {
		for _, ex := range list {
			out = append(out, wrap(path, ex))
		}
	}
	props, _ := node["properties"].(map[string]any)
	for name, p := range props {
		if child, ok := p.(map[string]any); ok {
			out = append(out, settingsExamples(child, append(append([]string{}, path...), name))...)
		}
	}
	return out
}

func wrap(path []string, v any) map[string]any {
	for i := len(path) - 1; i >= 0; i-- {
		v = map[string]any{path[i]: v}
	}
	m, _ := v.(map[string]any)
	return m
}

func assertCertificates(t *testing.T, text string) {
	t.Helper()
	rest, n := []byte(text), 0
	for {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			t.Errorf("example caCert block %d: %v", n+1, err)
		}
		n++
	}
	if n == 0 {
		t.Errorf("example caCert holds no certificate")
	}
}

// Every field of config-values.yaml has its Russian description.
func TestRussianDescriptions(t *testing.T) {
	var en, ru map[string]any
	if err := yaml.Unmarshal(readFile(t, "config-values.yaml"), &en); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(readFile(t, "doc-ru-config-values.yaml"), &ru); err != nil {
		t.Fatal(err)
	}
	for _, missing := range missingDescriptions(en, ru, "settings") {
		t.Errorf("doc-ru-config-values.yaml has no description for %s", missing)
	}
}

func missingDescriptions(en, ru map[string]any, path string) []string {
	var missing []string
	if _, ok := en["description"]; ok {
		if d, _ := ru["description"].(string); strings.TrimSpace(d) == "" {
			missing = append(missing, path)
		}
	}
	enProps, _ := en["properties"].(map[string]any)
	ruProps, _ := ru["properties"].(map[string]any)
	for name, p := range enProps {
		child, _ := p.(map[string]any)
		ruChild, _ := ruProps[name].(map[string]any)
		missing = append(missing, missingDescriptions(child, ruChild, path+"."+name)...)
	}
	return missing
}

// Without the hooks' output Helm must not run: x-required-for-helm is what
// stops a release with an empty caBundle or no store address.
func TestHelmValuesRequireHookOutput(t *testing.T) {
	s := storage(t)
	values := utils.Values{valuesKey: map[string]any{
		"internal": map[string]any{"webhookCert": map[string]any{}, "connection": map[string]any{}},
	}}
	err := s.ValidateModuleHelmValues(valuesKey, values)
	if err == nil {
		t.Fatal("Helm values without the hooks' output accepted")
	}
	for _, want := range []string{"internal.webhookCert.ca is required", "internal.connection.url is required"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
