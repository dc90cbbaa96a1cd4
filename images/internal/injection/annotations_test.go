// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package injection

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/deckhouse/secrets-store-integration/images/internal/envref"
	"github.com/deckhouse/secrets-store-integration/images/internal/params"
)

var moduleDefaults = params.Defaults{Address: "https://stronghold.d8-stronghold:8300", CACertPEM: "-----BEGIN CERTIFICATE-----\n..."}

func ann(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[AnnotationPrefix+kv[i]] = kv[i+1]
	}
	return m
}

func TestFromAnnotations(t *testing.T) {
	s, warnings, err := FromAnnotations(ann(
		"role", "app", "addr", "https://vault.example:8200", "auth-path", "/k8s-prod/", "namespace", "team-a",
		"tls-secret", "vault-ca", "env-from-path", "secret/data/common, secret/data/app#3",
		"ignore-missing-secrets", "true", "client-timeout", "3s", "mutate-probes", "true", "log-level", "debug",
		"enable-json-log", "true", "skip-mutate-containers", "istio-proxy, ,log-shipper  sidecar",
		"service-account-token-path", "/var/run/own/token", "restart-on-secret-change", "watch-for-data",
		"secret-poll-interval", "30s", "env-injector-pull-policy", "Never",
	), moduleDefaults)
	if err != nil || len(warnings) != 0 {
		t.Fatalf("FromAnnotations: %v, warnings %q", err, warnings)
	}
	want := Settings{
		Config: Config{
			Address: "https://vault.example:8200", Role: "app", AuthPath: "k8s-prod", Namespace: "team-a",
			EnvFromPath:   []envref.Secret{{Path: "secret/data/common"}, {Path: "secret/data/app", Version: 3}},
			IgnoreMissing: true, ClientTimeout: 3 * time.Second, LogLevel: "debug", JSONLog: true,
			TokenPath: "/var/run/own/token", Restart: RestartWatchForData, PollInterval: 30 * time.Second,
			GracePeriod: DefaultGracePeriod, TerminationLog: DefaultTerminationLog,
		},
		TLSSecret: "vault-ca", MutateProbes: true, SkipContainers: []string{"istio-proxy", "log-shipper", "sidecar"}, TokenPathSet: true,
		PullPolicy: "Never", Delivery: DeliveryEntrypoint,
	}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("settings\n got %+v\nwant %+v", s, want)
	}
}

func TestFromAnnotationsUsesModuleDefaults(t *testing.T) {
	s, _, err := FromAnnotations(ann("role", "app"), moduleDefaults)
	if err != nil {
		t.Fatal(err)
	}
	if s.Address != moduleDefaults.Address || s.CACertPEM != moduleDefaults.CACertPEM || s.AuthPath != DefaultAuthPath ||
		s.Restart != RestartNone || s.TokenPath != DefaultTokenPath || s.TokenPathSet {
		t.Fatalf("defaults not applied: %+v", s)
	}
}

// TestFromAnnotationsModuleStore: the module's auth path and namespace
// apply, normalized as an annotation's would be, unless an annotation names
// its own; a pod's own address drops the module's CA.
func TestFromAnnotationsModuleStore(t *testing.T) {
	d := params.Defaults{Address: "https://vault:8200", CACertPEM: "PEM", AuthMount: "/k8s-prod/", Namespace: "team"}
	s, _, err := FromAnnotations(ann("role", "app"), d)
	if err != nil || s.AuthPath != "k8s-prod" || s.Namespace != "team" || s.Address != d.Address || s.CACertPEM != "PEM" {
		t.Fatalf("module defaults: %+v, %v", s.Config, err)
	}
	s, _, err = FromAnnotations(ann("role", "app", "addr", "https://own:8200", "auth-path", "own", "namespace", ""), d)
	if err != nil || s.AuthPath != "own" || s.Namespace != "" || s.Address != "https://own:8200" || s.CACertPEM != "" {
		t.Fatalf("the pod's own store: %+v, %v", s.Config, err)
	}
}

func TestFromAnnotationsRefuses(t *testing.T) {
	tests := []struct {
		name string
		ann  map[string]string
		d    params.Defaults
		want []string
	}{
		{"empty role", ann("role", " "), moduleDefaults, []string{"annotation secrets-store.deckhouse.io/role: empty role"}},
		{"no address", ann("role", "app"), params.Defaults{}, []string{"secrets-store.deckhouse.io/addr: no store address; set the annotation or the module's connection.url"}},
		{"bad address", ann("role", "app", "addr", "vault:8200"), moduleDefaults, []string{`addr: "vault:8200" is not an https:// URL`}},
		{"bad pull policy", ann("role", "app", "env-injector-pull-policy", "always"), moduleDefaults,
			[]string{`env-injector-pull-policy: "always" is not one of Always, IfNotPresent, Never`}},
		{"bad mode", ann("role", "app", "restart-on-secret-change", "always"), moduleDefaults,
			[]string{`restart-on-secret-change: "always" is not one of none, watch-for-lease, watch-for-data`}},
		{"bad durations", ann("role", "app", "client-timeout", "10", "secret-poll-interval", "100ms", "restart-on-secret-change", "watch-for-data"), moduleDefaults,
			[]string{`client-timeout: "10" is not a duration`, `secret-poll-interval: "100ms" is not a duration of at least 1s`}},
		{"bad bools", ann("role", "app", "tls-skip-verify", "yes", "mutate-probes", "on"), moduleDefaults,
			[]string{`tls-skip-verify: "yes" is not true or false`, `mutate-probes: "on" is not true or false`}},
		{"bad env-from-path", ann("role", "app", "env-from-path", "secret/../sys#x"), moduleDefaults, []string{`env-from-path: "secret/../sys#x": version "x"`}},
		{"env-from-path with dots", ann("role", "app", "env-from-path", "secret/../sys"), moduleDefaults, []string{`env-from-path: path "secret/../sys": must be relative`}},
		{"empty env-from-path", ann("role", "app", "env-from-path", " , "), moduleDefaults, []string{"env-from-path: no path"}},
		{"bad token path", ann("role", "app", "service-account-token-path", "token"), moduleDefaults, []string{`service-account-token-path: "token" is not a clean absolute path`}},
		{"bad tls secret", ann("role", "app", "tls-secret", "Vault_CA"), moduleDefaults, []string{`tls-secret: "Vault_CA" is not a Secret name`}},
		{"bad log level", ann("role", "app", "log-level", "trace"), moduleDefaults, []string{`log-level: "trace" is not one of`}},
		{"bad auth path", ann("role", "app", "auth-path", "../sys"), moduleDefaults, []string{`auth-path: "../sys" is not an auth method path`}},
		{"bad delivery", ann("role", "app", "delivery", "crio"), moduleDefaults, []string{`delivery: "crio" is not one of entrypoint, containerd`}},
		{"bad module auth path", ann("role", "app"), params.Defaults{Address: "https://v", AuthMount: "a b"},
			[]string{`auth-path: "a b" is not an auth method path such as kubernetes; set the annotation or the module's connection.authPath`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := FromAnnotations(tt.ann, tt.d)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestFromAnnotationsWarns(t *testing.T) {
	tests := []struct {
		name string
		ann  map[string]string
		want string
	}{
		{"skip verify", ann("role", "app", "tls-skip-verify", "true"), "certificate is not verified"},
		{"plain http", ann("role", "app", "addr", "http://vault:8200"), "plain http"},
		{"unknown annotation", ann("role", "app", "rol", "x"), "secrets-store.deckhouse.io/rol is not a known annotation"},
		{"poll without watch", ann("role", "app", "secret-poll-interval", "1m"), "has no effect unless"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, warnings, err := FromAnnotations(tt.ann, moduleDefaults)
			if err != nil {
				t.Fatal(err)
			}
			if len(warnings) != 1 || !strings.Contains(warnings[0], tt.want) {
				t.Fatalf("warnings %q, want one with %q", warnings, tt.want)
			}
		})
	}
}

// FuzzFromAnnotations: any annotation value is accepted or refused with an
// error naming an annotation; what is accepted survives the trip through
// the injector's environment.
func FuzzFromAnnotations(f *testing.F) {
	f.Add("app", "https://v:8200", "watch-for-data", "5s", "secret/a,secret/b#2", "true")
	f.Add("", "http://", "none", "1h", "#", "1")
	f.Add("r", "https://h", "watch-for-lease", "0s", " ", "FALSE")
	// A poll interval outside watch-for-data: kept at its default, which is
	// all the environment can say.
	f.Add("app", "https://v", "none", "2m", "a/b", "true")
	f.Fuzz(func(t *testing.T, role, addr, mode, dur, paths, b string) {
		a := ann("role", role, "addr", addr, "restart-on-secret-change", mode, "secret-poll-interval", dur,
			"client-timeout", dur, "env-from-path", paths, "tls-skip-verify", b, "ignore-missing-secrets", b)
		s, _, err := FromAnnotations(a, params.Defaults{})
		if err != nil {
			if !strings.Contains(err.Error(), "annotation "+AnnotationPrefix) {
				t.Fatalf("error without the annotation's name: %v", err)
			}
			return
		}
		env := map[string]string{}
		for _, e := range s.Config.Env() {
			env[e.Name] = e.Value
		}
		got, err := FromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if err != nil {
			t.Fatalf("accepted annotations %v give an environment the injector refuses: %v", a, err)
		}
		if !reflect.DeepEqual(got, s.Config) {
			t.Fatalf("round trip\n got %+v\nwant %+v", got, s.Config)
		}
	})
}
