// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package kubeclient

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://%s:6443"}
users:
- name: u
  user: {token: t}
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
`

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, host string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Replace(kubeconfig, "%s", host, 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	flagFile, envFile := write("flag", "from-flag"), write("env", "from-env")
	cases := []struct {
		name       string
		kubeconfig string
		env        string // $KUBECONFIG
		qps        float32
		burst      int
		wantHost   string
		wantQPS    float32
		wantBurst  int
		wantErr    string
	}{
		{name: "the file named", kubeconfig: flagFile, env: envFile, wantHost: "https://from-flag:6443"},
		{name: "$KUBECONFIG", env: envFile, wantHost: "https://from-env:6443"},
		{name: "rate limits", kubeconfig: flagFile, qps: 20, burst: 30, wantHost: "https://from-flag:6443", wantQPS: 20, wantBurst: 30},
		{name: "a missing file", kubeconfig: filepath.Join(dir, "none"), wantErr: filepath.Join(dir, "none")},
		// The test does not run in a pod.
		{name: "in-cluster outside a pod", wantErr: "load kubernetes client configuration"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", c.env)
			t.Setenv("KUBERNETES_SERVICE_HOST", "")
			cfg, err := Config(Options{Kubeconfig: c.kubeconfig, Component: "webhook", QPS: c.qps, Burst: c.burst})
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("Config: %v, want an error with %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Config: %v", err)
			}
			if cfg.Host != c.wantHost || cfg.QPS != c.wantQPS || cfg.Burst != c.wantBurst {
				t.Errorf("host %s qps %v burst %d, want %s %v %d", cfg.Host, cfg.QPS, cfg.Burst, c.wantHost, c.wantQPS, c.wantBurst)
			}
			if cfg.UserAgent != "secrets-store-webhook/dev" {
				t.Errorf("User-Agent %q", cfg.UserAgent)
			}
		})
	}
}
