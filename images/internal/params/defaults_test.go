// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package params

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestDefaultsFlagAliases: the chart's older --store-* spellings set what
// the --vault-* flags set.
func TestDefaultsFlagAliases(t *testing.T) {
	parse := func(args ...string) Defaults {
		t.Helper()
		var d Defaults
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		d.AddFlags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		return d
	}
	want := Defaults{Address: "https://vault.example:8200", CACertPath: "/etc/ca.crt", AuthMount: "k8s-prod", Namespace: "team-a"}
	canonical := parse("--vault-addr", want.Address, "--vault-ca-cert", want.CACertPath, "--vault-auth-mount", want.AuthMount, "--vault-namespace", want.Namespace)
	alias := parse("--store-addr="+want.Address, "--store-ca-file="+want.CACertPath, "--store-auth-path="+want.AuthMount, "--store-namespace="+want.Namespace)
	if canonical != want || alias != want {
		t.Fatalf("--vault-* gave %+v, --store-* gave %+v, want %+v", canonical, alias, want)
	}
	if d := parse(); d.AuthMount != AuthKubernetes || d.Address != "" {
		t.Fatalf("no flags: %+v, want auth mount %s and no address", d, AuthKubernetes)
	}
}

func TestDefaultsLoadCA(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(ca, []byte("PEM"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := Defaults{CACertPath: ca}
	if err := d.LoadCA(); err != nil || d.CACertPEM != "PEM" {
		t.Fatalf("LoadCA: %v, PEM %q", err, d.CACertPEM)
	}
	d = Defaults{CACertPath: ca + ".missing"}
	if err := d.LoadCA(); err == nil || d.CACertPEM != "" {
		t.Fatalf("LoadCA of a missing file: %v, PEM %q; want an error", err, d.CACertPEM)
	}
	if err := (&Defaults{}).LoadCA(); err != nil {
		t.Fatalf("LoadCA without a file: %v", err)
	}
}
