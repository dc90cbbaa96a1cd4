// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package injection

import (
	"strings"
	"testing"
)

func TestContainerd(t *testing.T) {
	for _, tt := range []struct {
		ann  map[string]string
		want bool
	}{
		{ann("role", "app", "delivery", "containerd"), true},
		{ann("role", "app", "delivery", "entrypoint"), false},
		{ann("role", "app", "delivery", "Containerd"), false},
		{ann("role", "app"), false},
		{nil, false},
	} {
		if got := Containerd(tt.ann); got != tt.want {
			t.Errorf("Containerd(%v) = %v, want %v", tt.ann, got, tt.want)
		}
	}
}

// TestFromAnnotationsContainerd: annotations that only the env injector can
// honour are refused, each named with the reason, when containerd delivers;
// those it would only ignore are warned of; entrypoint delivery keeps them.
func TestFromAnnotationsContainerd(t *testing.T) {
	tests := []struct {
		name     string
		kv       []string
		refused  []string // annotations named in the error
		warnings []string // annotations named in a warning
	}{
		{name: "plain", kv: []string{"env-from-path", "secret/data/app", "skip-mutate-containers", "sidecar", "ignore-missing-secrets", "true"}},
		{name: "restart none and no probes are what this way does", kv: []string{"restart-on-secret-change", "none", "mutate-probes", "false"}},
		{name: "token path", kv: []string{"service-account-token-path", "/var/run/own/token"}, refused: []string{"service-account-token-path"}},
		{name: "watch modes", kv: []string{"restart-on-secret-change", "watch-for-data", "secret-poll-interval", "1m"},
			refused: []string{"restart-on-secret-change", "secret-poll-interval"}},
		{name: "watch for lease", kv: []string{"restart-on-secret-change", "watch-for-lease"}, refused: []string{"restart-on-secret-change"}},
		{name: "probes", kv: []string{"mutate-probes", "true"}, refused: []string{"mutate-probes"}},
		{name: "tls secret", kv: []string{"tls-secret", "vault-ca"}, refused: []string{"tls-secret"}},
		{name: "pull policy", kv: []string{"env-injector-pull-policy", "Always"}, refused: []string{"env-injector-pull-policy"}},
		{name: "injector logging and timeout", kv: []string{"log-level", "debug", "enable-json-log", "true", "client-timeout", "3s"},
			warnings: []string{"log-level", "enable-json-log", "client-timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := append([]string{"role", "app"}, tt.kv...)
			if _, _, err := FromAnnotations(ann(base...), moduleDefaults); err != nil {
				t.Fatalf("entrypoint delivery refuses: %v", err)
			}
			s, warnings, err := FromAnnotations(ann(append(base, "delivery", "containerd")...), moduleDefaults)
			if s.Delivery != DeliveryContainerd {
				t.Errorf("delivery %q", s.Delivery)
			}
			if len(tt.refused) == 0 && err != nil {
				t.Fatalf("refused: %v", err)
			}
			for _, a := range tt.refused {
				if err == nil || !strings.Contains(err.Error(), "annotation "+AnnotationPrefix+a+": cannot be used with "+AnnotationPrefix+"delivery: containerd: ") {
					t.Errorf("error %v does not name %s", err, a)
				}
			}
			if len(warnings) != len(tt.warnings) {
				t.Errorf("warnings %q, want one each of %q", warnings, tt.warnings)
			}
			for _, a := range tt.warnings {
				if !strings.Contains(strings.Join(warnings, "\n"), "annotation "+AnnotationPrefix+a+": ignored") {
					t.Errorf("warnings %q do not name %s", warnings, a)
				}
			}
		})
	}
}
