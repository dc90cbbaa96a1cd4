// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package testenv

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"
)

// TestStopLeavesNothingBehind starts the whole environment and checks that
// Stop ends every server process and removes the folder.
func TestStopLeavesNothingBehind(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	env, err := Start(ctx, Options{Log: testWriter{t}})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(env.Stop)

	if len(env.procs) != 3 {
		t.Fatalf("want 3 processes (etcd, kube-apiserver, vault), have %d", len(env.procs))
	}
	pids := make(map[string]int)
	for _, p := range env.procs {
		pids[p.Name] = p.PID()
		if err := syscall.Kill(p.PID(), 0); err != nil {
			t.Fatalf("%s (pid %d) is not running after Start: %v", p.Name, p.PID(), err)
		}
	}
	if _, err := env.Kube.CoreV1().Namespaces().Get(ctx, "default", getOpts); err != nil {
		t.Fatalf("kube-apiserver does not serve the default namespace: %v", err)
	}
	if h, err := env.Vault.Sys().HealthWithContext(ctx); err != nil || h.Sealed {
		t.Fatalf("vault health: %+v, %v", h, err)
	}

	env.Stop()
	env.Stop() // a second Stop is harmless

	for name, pid := range pids {
		// The processes were our children and have been reaped, so the pid
		// is gone unless something else reused it.
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("%s (pid %d) still exists after Stop: kill(0) = %v", name, pid, err)
		}
	}
	if _, err := os.Stat(env.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("environment folder %s still exists after Stop: %v", env.Dir, err)
	}
}

// TestStartFailsClearlyWithoutBinaries checks the error a developer sees when
// the servers were not built.
func TestStartFailsClearlyWithoutBinaries(t *testing.T) {
	_, err := Start(context.Background(), Options{BinDir: t.TempDir()})
	if err == nil {
		t.Fatal("Start with an empty binary folder succeeded")
	}
	for _, want := range []string{"etcd", "make test-servers"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestSweepStaleRemovesOnlyDeadOwners(t *testing.T) {
	parent := t.TempDir()
	cases := []struct {
		name string
		pid  string
		kept bool
	}{
		{name: "ssi-testenv-alive", pid: strconv.Itoa(os.Getpid()), kept: true},
		{name: "ssi-testenv-dead", pid: strconv.Itoa(deadPid(t)), kept: false},
		{name: "ssi-testenv-unmarked", pid: "", kept: true},
		{name: "other-dead", pid: strconv.Itoa(deadPid(t)), kept: true},
	}
	for _, c := range cases {
		dir := parent + "/" + c.name
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if c.pid != "" {
			if err := os.WriteFile(dir+"/"+ownerFile, []byte(c.pid), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	sweepStale(parent, dirPattern)
	for _, c := range cases {
		_, err := os.Stat(parent + "/" + c.name)
		if kept := err == nil; kept != c.kept {
			t.Errorf("%s: kept=%t, want %t", c.name, kept, c.kept)
		}
	}
}

// TestVaultSealUnsealAndClientCertificates checks the store-outage switch
// and the listener that requires client certificates.
func TestVaultSealUnsealAndClientCertificates(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	env, err := Start(ctx, Options{Log: testWriter{t}})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(env.Stop)
	if _, err := env.Vault.KVv2(KVMount).Put(ctx, "kept", map[string]any{"v": "1"}); err != nil {
		t.Fatal(err)
	}

	if err := env.SealVault(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Vault.KVv2(KVMount).Get(ctx, "kept"); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("read from a sealed vault: %v, want a 503", err)
	}
	if err := env.UnsealVault(ctx); err != nil {
		t.Fatal(err)
	}
	if s, err := env.Vault.KVv2(KVMount).Get(ctx, "kept"); err != nil || s.Data["v"] != "1" {
		t.Fatalf("read after unseal: %+v, %v", s, err)
	}

	plain, err := newVaultClient(env.VaultMTLSAddr, env.VaultCAPEM)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.Sys().SealStatusWithContext(ctx); err == nil {
		t.Error("the client-certificate listener answered a client without a certificate")
	}
	withCert, err := newVaultClient(env.VaultMTLSAddr, env.VaultCAPEM)
	if err != nil {
		t.Fatal(err)
	}
	cfg := withCert.CloneConfig()
	if err := cfg.ConfigureTLS(&vault.TLSConfig{CACertBytes: env.VaultCAPEM,
		ClientCert: env.VaultClientCertPath, ClientKey: env.VaultClientKeyPath}); err != nil {
		t.Fatal(err)
	}
	withCert, err = vault.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := withCert.Sys().SealStatusWithContext(ctx); err != nil {
		t.Errorf("the client-certificate listener refused a client with a certificate: %v", err)
	}
}
