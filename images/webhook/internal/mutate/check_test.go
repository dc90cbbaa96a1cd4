// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package mutate

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func podWith(ann map[string]string, containers ...corev1.Container) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Annotations: ann}, Spec: corev1.PodSpec{Containers: containers}}
}

func withEnv(c corev1.Container, kv ...string) corev1.Container {
	for i := 0; i < len(kv); i += 2 {
		c.Env = append(c.Env, corev1.EnvVar{Name: kv[i], Value: kv[i+1]})
	}
	return c
}

func TestCheckRefuses(t *testing.T) {
	app := container("app", "app:v1", "/app")
	for _, tc := range []struct {
		name   string
		pod    *corev1.Pod
		want   []string // parts of the message
		fields []string
	}{
		{"malformed reference",
			podWith(annotated(), withEnv(app, "DB_PASS", "secrets-store:secret/data/db")),
			[]string{`container "app", variable DB_PASS`, "has no key"},
			[]string{`container "app" variable DB_PASS`}},
		{"inline reference without its brace",
			podWith(annotated(), withEnv(app, "DSN", "postgres://u:${secrets-store:secret/data/db#pass@db")),
			[]string{`container "app", variable DSN`, "no closing"},
			[]string{`container "app" variable DSN`}},
		{"path escaping the mount",
			podWith(annotated(), withEnv(app, "X", "secrets-store:secret/../sys#k")),
			[]string{`container "app", variable X`},
			[]string{`container "app" variable X`}},
		{"unknown restart mode",
			podWith(annotated("restart-on-secret-change", "always"), app),
			[]string{"annotation secrets-store.deckhouse.io/restart-on-secret-change", `"always" is not one of none, watch-for-lease, watch-for-data`},
			[]string{"annotation secrets-store.deckhouse.io/restart-on-secret-change"}},
		{"bad duration",
			podWith(annotated("client-timeout", "ten seconds"), app),
			[]string{"annotation secrets-store.deckhouse.io/client-timeout", `"ten seconds" is not a duration`},
			[]string{"annotation secrets-store.deckhouse.io/client-timeout"}},
		{"a write whose body is not JSON (existing module's >>secrets-store:)",
			podWith(annotated(), withEnv(app, "CERT", `>>secrets-store:pki/issue/web#certificate#{common_name: a.example.com}`)),
			[]string{`container "app", variable CERT`, "is not a JSON object"},
			[]string{`container "app" variable CERT`}},
		{"a write inside a larger value without its brace",
			podWith(annotated(), withEnv(app, "CERT", `pem=${>>secrets-store:pki/issue/web#certificate#{"ttl":"1h"}`)),
			[]string{`container "app", variable CERT`, "no closing"},
			[]string{`container "app" variable CERT`}},
		{"every problem at once",
			podWith(annotated("tls-skip-verify", "maybe"), withEnv(app, "A", "secrets-store:#k", "B", "secrets-store:p#")),
			[]string{"tls-skip-verify", "variable A", "variable B"},
			[]string{"annotation secrets-store.deckhouse.io/tls-skip-verify", `container "app" variable A`, `container "app" variable B`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Check(tc.pod, defaults)
			if err == nil {
				t.Fatal("Check accepted the pod")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message %q lacks %q", err, w)
				}
			}
			if got := Fields(err); !slices.Equal(got, tc.fields) {
				t.Errorf("Fields = %q, want %q", got, tc.fields)
			}
		})
	}
}

func TestCheckWarns(t *testing.T) {
	app := container("app", "app:v1", "/app")
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		want string
	}{
		{"tls-skip-verify", podWith(annotated("tls-skip-verify", "true"), app), "certificate is not verified"},
		{"skip names no container", podWith(annotated("skip-mutate-containers", "istio-proxy"), app), `names container "istio-proxy", which the pod does not have`},
		{"reference in a skipped container", podWith(annotated("skip-mutate-containers", "app"), withEnv(app, "X", "secrets-store:s#k")), `container "app", variable X holds a reference, but the container is skipped`},
		{"every container skipped", podWith(annotated("skip-mutate-containers", "app"), app), "every container is skipped"},
		{"the store token handed over", podWith(annotated(), withEnv(app, "VAULT_TOKEN", "secrets-store:login")), `container "app", variable VAULT_TOKEN takes the injector's store token`},
		{"the store token inline", podWith(annotated(), withEnv(app, "AUTH", "Bearer ${secrets-store:login}")), "the injector does not revoke it"},
		{"the injector's own variable", podWith(annotated(), withEnv(app, "VAULT_ADDR", "https://other")), `container "app" sets VAULT_ADDR`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, warnings, err := Check(tc.pod, defaults)
			if err != nil {
				t.Fatalf("Check refused: %v", err)
			}
			if !slices.ContainsFunc(warnings, func(w string) bool { return strings.Contains(w, tc.want) }) {
				t.Fatalf("warnings %q lack %q", warnings, tc.want)
			}
		})
	}
	if _, warnings, err := Check(podWith(annotated(), withEnv(app, "DB", "secrets-store:secret/data/db#pass",
		"CERT", `>>secrets-store:pki/issue/web#certificate#{"common_name":"a.example.com"}`)), defaults); err != nil || len(warnings) != 0 {
		t.Fatalf("a plain pod: %v, warnings %q", err, warnings)
	}
}

func TestFieldsHideValues(t *testing.T) {
	const value = "hunter2-${secrets-store:oops"
	_, _, err := Check(podWith(annotated(), withEnv(container("app", "app:v1", "/app"), "PASS", value)), defaults)
	if err == nil {
		t.Fatal("Check accepted a malformed inline reference")
	}
	for _, f := range Fields(err) {
		if strings.Contains(f, "hunter2") {
			t.Fatalf("Fields %q carry the variable's value", f)
		}
	}
}
