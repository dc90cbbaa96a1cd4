// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package plugin

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/nri/pkg/api"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/deckhouse/secrets-store-integration/images/internal/injection"
	"github.com/deckhouse/secrets-store-integration/images/internal/params"
	"github.com/deckhouse/secrets-store-integration/images/internal/store/storetest"
	"github.com/deckhouse/secrets-store-integration/images/internal/storepolicy"
)

const (
	uid   = "0f4b6a4e-6d1b-4a8e-9b8e-1c2d3e4f5a6b"
	ref   = "secrets-store:" + storetest.KVPath + "#password"
	login = "PUT /v1/auth/kubernetes/login"
)

const revoke = "PUT /v1/auth/token/revoke-self"

// writeToken lays out the projected token volume as kubelet's atomic
// writer does: token -> ..data/token, ..data -> ..<timestamp>.
func writeToken(t *testing.T, kubelet, podUID, jwt string) string {
	t.Helper()
	dir := filepath.Join(kubelet, "pods", podUID, "volumes", "kubernetes.io~projected", injection.TokenVolume)
	ts := filepath.Join(dir, "..2026_12_02_03_00_00.000000001")
	if err := os.MkdirAll(ts, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ts, "token"), []byte(jwt+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Base(ts), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..data/token", filepath.Join(dir, "token")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func annotations(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[injection.AnnotationPrefix+kv[i]] = kv[i+1]
	}
	return m
}

// optedIn are the annotations of a pod of containerd delivery, plus kv.
func optedIn(kv ...string) map[string]string {
	return annotations(append([]string{"role", "app", "delivery", "containerd"}, kv...)...)
}

// envOf renders an adjustment's variables as K=V, removals as -K.
func envOf(adj *api.ContainerAdjustment) []string {
	var out []string
	for _, kv := range adj.GetEnv() {
		if k, removed := kv.IsMarkedForRemoval(); removed {
			out = append(out, "-"+k)
			continue
		}
		out = append(out, kv.Key+"="+kv.Value)
	}
	return out
}

func TestAdjust(t *testing.T) {
	down := closedAddress(t)
	kubelet := t.TempDir()
	writeToken(t, kubelet, uid, storetest.JWT("demo", "app"))

	// Hostile token folders, each of its own pod.
	escapeUID := "11111111-2222-4333-8444-555555555555"
	outside := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(outside, []byte(storetest.JWT("demo", "app")), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(kubelet, "pods", escapeUID, "volumes", "kubernetes.io~projected", injection.TokenVolume)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "token")); err != nil {
		t.Fatal(err)
	}
	otherNS := "22222222-2222-4333-8444-555555555555"
	writeToken(t, kubelet, otherNS, storetest.JWT("other", "app"))
	emptyUID := "33333333-2222-4333-8444-555555555555"
	writeToken(t, kubelet, emptyUID, "")
	hugeUID := "44444444-2222-4333-8444-555555555555"
	writeToken(t, kubelet, hugeUID, strings.Repeat("e30.", maxTokenBytes))

	var many []string
	for i := range MaxReferences + 1 {
		many = append(many, fmt.Sprintf("V%d=%s", i, ref))
	}

	tests := []struct {
		name   string
		ann    map[string]string
		uid    string
		env    []string
		result string
		want   []string // the adjustment, K=V and -K
		errs   []string // parts of the error
		logins int
		revoke int
	}{
		{name: "not opted in", ann: nil, env: []string{"A=" + ref}, result: Untouched},
		{name: "entrypoint delivery", ann: annotations("role", "app"), env: []string{"A=" + ref}, result: Untouched},
		{name: "containerd delivery without a role", ann: annotations("delivery", "containerd"), env: []string{"A=" + ref}, result: Untouched},
		{name: "references resolved", ann: optedIn(),
			env:    []string{"PATH=/bin", "PASSWORD=" + ref, "OLD=" + ref + "#1", "DSN=pg://app:${" + ref + "}@db", "PLAIN=x"},
			result: Adjusted, want: []string{"DSN=pg://app:" + storetest.Password + "@db", "OLD=" + storetest.OldPassword, "PASSWORD=" + storetest.Password},
			logins: 1, revoke: 1},
		{name: "no references: no token read, no store", ann: optedIn("addr", down), uid: "66666666-2222-4333-8444-555555555555", env: []string{"PATH=/bin"}, result: Untouched},
		{name: "multi-line error on one line", ann: optedIn(), env: []string{"A=secrets-store:secret/data/gone#x", "B=secrets-store:secret/data/gone2#x"}, result: Failed,
			errs: []string{"variable A: read secret/data/gone", "; variable B: read secret/data/gone2"}, logins: 1, revoke: 1},
		{name: "env-from-path", ann: optedIn("env-from-path", storetest.KVPath), env: []string{"PATH=/bin", "password=mine"},
			result: Adjusted, want: []string{"password=" + storetest.Password}, logins: 1, revoke: 1},
		{name: "skipped container", ann: optedIn("skip-mutate-containers", "sidecar, app"), env: []string{"A=" + ref}, result: Untouched},
		{name: "ignore-missing-secrets leaves the reference out", ann: optedIn("ignore-missing-secrets", "true"),
			env:    []string{"GONE=secrets-store:secret/data/gone#x", "A=" + ref},
			result: Adjusted, want: []string{"A=" + storetest.Password, "-GONE"}, logins: 1, revoke: 1},
		{name: "login denied", ann: optedIn("role", storetest.RefusedRole), env: []string{"A=" + ref}, result: Failed,
			errs: []string{`pod demo/web, container "app"`, `log in as role "refused"`, "permission denied"}, logins: 1},
		{name: "missing key", ann: optedIn(), env: []string{"A=" + ref, "B=secrets-store:" + storetest.KVPath + "#nokey"}, result: Failed,
			errs: []string{`pod demo/web, container "app"`, "variable B", storetest.KVPath, "nokey"}, logins: 1, revoke: 1},
		{name: "missing secret", ann: optedIn(), env: []string{"A=secrets-store:secret/data/gone#x"}, result: Failed,
			errs: []string{`pod demo/web, container "app"`, "variable A", "secret/data/gone"}, logins: 1, revoke: 1},
		{name: "store down", ann: optedIn("addr", down), env: []string{"A=" + ref}, result: Failed,
			errs: []string{`pod demo/web, container "app"`, "store " + down}},
		{name: "a store the settings do not allow", ann: optedIn("addr", "https://elsewhere.example:8200"), env: []string{"A=" + ref}, result: Failed,
			errs: []string{`pod demo/web, container "app"`, `annotation secrets-store.deckhouse.io/addr "https://elsewhere.example:8200" is not allowed by the module settings`}},
		{name: "TLS verification off, not allowed", ann: optedIn("tls-skip-verify", "true"), env: []string{"A=" + ref}, result: Failed,
			errs: []string{"annotation secrets-store.deckhouse.io/tls-skip-verify \"true\" is not allowed by the module settings (allowSkipTLSVerify is false"}},
		{name: "the store token asked for", ann: optedIn(), env: []string{"T=secrets-store:login"}, result: Failed,
			errs: []string{`pod demo/web, container "app"`, "secrets-store:login"}, logins: 1, revoke: 1},
		// The fake store answers u<n> for its n-th request: login, mounts, read.
		{name: "dynamic secret keeps the token for its lease", ann: optedIn(), env: []string{"U=secrets-store:" + storetest.DynamicPath + "#user"},
			result: Adjusted, want: []string{"U=u3"}, logins: 1},
		{name: "annotation of entrypoint delivery", ann: optedIn("tls-secret", "vault-ca"), env: []string{"A=" + ref}, result: Failed,
			errs: []string{`pod demo/web, container "app"`, "annotation secrets-store.deckhouse.io/tls-secret: cannot be used with"}},
		{name: "pod UID with dots", ann: optedIn(), uid: "../../x", env: []string{"A=" + ref}, result: Failed,
			errs: []string{`pod demo/web, container "app"`, `pod UID "../../x" is not a UUID`}},
		{name: "no token volume", ann: optedIn(), uid: "55555555-2222-4333-8444-555555555555", env: []string{"A=" + ref}, result: Failed,
			errs: []string{`pod demo/web, container "app"`, "open the projected token volume secrets-store-token"}},
		{name: "token link out of the volume", ann: optedIn(), uid: escapeUID, env: []string{"A=" + ref}, result: Failed,
			errs: []string{`pod demo/web, container "app"`, "read the projected token", "escapes"}},
		{name: "token of another namespace", ann: optedIn(), uid: otherNS, env: []string{"A=" + ref}, result: Failed,
			errs: []string{`pod demo/web, container "app"`, `the projected token is of namespace "other", not the pod's`}},
		{name: "empty token", ann: optedIn(), uid: emptyUID, env: []string{"A=" + ref}, result: Failed,
			errs: []string{"the projected token is empty"}},
		{name: "huge token", ann: optedIn(), uid: hugeUID, env: []string{"A=" + ref}, result: Failed,
			errs: []string{fmt.Sprintf("the projected token is over %d bytes", maxTokenBytes)}},
		{name: "too many references", ann: optedIn(), env: many, result: Failed,
			errs: []string{fmt.Sprintf("%d references", MaxReferences+1), fmt.Sprintf("at most %d", MaxReferences)}},
		{name: "huge reference", ann: optedIn(), env: []string{"A=secrets-store:" + storetest.KVPath + "#" + strings.Repeat("k", MaxReferenceBytes)}, result: Failed,
			errs: []string{"the variables with references hold", fmt.Sprintf("at most %d", MaxReferenceBytes)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := storetest.New(t) // counts of this case alone
			var logs bytes.Buffer
			p := New(Config{
				KubeletRoot: kubelet, Defaults: params.Defaults{Address: srv.URL, AuthMount: "kubernetes"},
				Policy:         storepolicy.Policy{DefaultAddress: srv.URL, AllowedAddresses: []string{down}},
				RequestTimeout: 5 * time.Second, Log: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			}, nil)
			podUID := uid
			if tt.uid != "" {
				podUID = tt.uid
			}
			pod := &api.PodSandbox{Name: "web", Namespace: "demo", Uid: podUID, Annotations: tt.ann}
			ctr := &api.Container{Name: "app", Env: tt.env}
			adj, _, err := p.CreateContainer(context.Background(), pod, ctr)
			_, result, _ := p.Adjust(context.Background(), pod, ctr)
			p.Wait()
			if result != tt.result {
				t.Errorf("result %s, want %s", result, tt.result)
			}
			if got := envOf(adj); !slices.Equal(got, tt.want) {
				t.Errorf("adjustment %q, want %q", got, tt.want)
			}
			switch {
			case len(tt.errs) == 0 && err != nil:
				t.Errorf("error: %v", err)
			case len(tt.errs) > 0 && err == nil:
				t.Errorf("no error, want one with %q", tt.errs)
			}
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q spans lines; kubelet shows one", err)
			}
			for _, e := range tt.errs {
				if err != nil && !strings.Contains(err.Error(), e) {
					t.Errorf("error %q lacks %q", err, e)
				}
			}
			// Adjust ran twice: each run logs in and revokes once.
			if got := srv.Logins(); got != 2*tt.logins {
				t.Errorf("%d logins in two runs, want %d", got, 2*tt.logins)
			}
			if got := srv.Count(revoke); got != 2*tt.revoke {
				t.Errorf("%d revocations in two runs, want %d", got, 2*tt.revoke)
			}
			for _, secret := range []string{storetest.Password, storetest.OldPassword, storetest.JWT("demo", "app"), "hvs.x"} {
				if err != nil && strings.Contains(err.Error(), secret) {
					t.Errorf("error %q holds a secret", err)
				}
				if strings.Contains(logs.String(), secret) {
					t.Errorf("a secret in the logs:\n%s", logs.String())
				}
			}
		})
	}
}

// TestMetrics: each CreateContainer is counted once by its result.
func TestMetrics(t *testing.T) {
	srv := storetest.New(t)
	kubelet := t.TempDir()
	writeToken(t, kubelet, uid, storetest.JWT("demo", "app"))
	m := NewMetrics()
	p := New(Config{KubeletRoot: kubelet, Defaults: params.Defaults{Address: srv.URL, AuthMount: "kubernetes"},
		Policy: storepolicy.Policy{DefaultAddress: srv.URL}, RequestTimeout: 5 * time.Second}, m)
	pod := &api.PodSandbox{Name: "web", Namespace: "demo", Uid: uid, Annotations: optedIn()}
	for _, env := range [][]string{{"A=" + ref}, {"A=" + ref}, {"A=secrets-store:secret/data/gone#x"}} {
		_, _, _ = p.CreateContainer(context.Background(), pod, &api.Container{Name: "app", Env: env})
	}
	_, _, _ = p.CreateContainer(context.Background(), &api.PodSandbox{Name: "other", Namespace: "demo", Uid: uid}, &api.Container{Name: "app"})
	for result, want := range map[string]float64{Adjusted: 2, Failed: 1, Untouched: 1} {
		if got := testutil.ToFloat64(m.requests.WithLabelValues(result)); got != want {
			t.Errorf("requests_total{result=%q} = %v, want %v", result, got, want)
		}
	}
	if n := testutil.CollectAndCount(m.latency); n != 3 {
		t.Errorf("%d duration series, want one per result", n)
	}
}

// TestBudget: the plugin answers before the runtime gives up on it.
func TestBudget(t *testing.T) {
	p := New(Config{RequestTimeout: 8 * time.Second}, nil)
	if got := p.budget(context.Background()); got != 8*time.Second {
		t.Errorf("no deadline: %s, want --request-timeout", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if got := p.budget(ctx); got > 1600*time.Millisecond || got < time.Second {
		t.Errorf("2s to the runtime's deadline: %s, want a fifth less", got)
	}
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if got := p.budget(ctx); got != 8*time.Second {
		t.Errorf("a minute to the runtime's deadline: %s, want --request-timeout", got)
	}
}

func TestIsUID(t *testing.T) {
	for s, want := range map[string]bool{
		uid: true, strings.ToUpper(uid): true,
		"": false, "../../x": false, uid + "/..": false, "0f4b6a4e-6d1b-4a8e-9b8e-1c2d3e4f5a6g": false,
		"0f4b6a4e/6d1b-4a8e-9b8e-1c2d3e4f5a6b": false, "{0f4b6a4e-6d1b-4a8e-9b8e-1c2d3e4f5a}": false,
	} {
		if got := isUID(s); got != want {
			t.Errorf("isUID(%q) = %v, want %v", s, got, want)
		}
	}
}

// closedAddress is the URL of a port nobody listens on.
func closedAddress(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}
