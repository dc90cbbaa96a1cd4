// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunUsageAndConfiguration(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		code int
		want string
	}{
		{"no command", nil, nil, exitUsage, "usage: env-injector [--] COMMAND"},
		{"only the separator", []string{"--"}, nil, exitUsage, "usage:"},
		{"self-copy without a folder", []string{"--self-copy"}, nil, exitUsage, "--self-copy DIR"},
		{"no settings", []string{"--", "true"}, nil, exitFailed, "configuration: variable VAULT_ADDR: no store address"},
		{"a bad setting is named", []string{"true"}, map[string]string{"VAULT_ADDR": "https://v", "VAULT_ROLE": "r", "VAULT_CLIENT_TIMEOUT": "soon"},
			exitFailed, `variable VAULT_CLIENT_TIMEOUT: "soon" is not a duration`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"VAULT_ADDR", "VAULT_ROLE", "VAULT_CLIENT_TIMEOUT"} {
				t.Setenv(k, tt.env[k])
			}
			t.Setenv("VAULT_TERMINATION_LOG", filepath.Join(t.TempDir(), "termination-log"))
			var stderr bytes.Buffer
			if code := run(tt.args, &stderr); code != tt.code {
				t.Fatalf("exit %d, want %d (%s)", code, tt.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("stderr %q lacks %q", stderr.String(), tt.want)
			}
		})
	}
}

func TestSelfCopy(t *testing.T) {
	dir := t.TempDir()
	var stderr bytes.Buffer
	if code := run([]string{"--self-copy", dir}, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	self, _ := os.Executable()
	want, _ := os.ReadFile(self)
	got, err := os.ReadFile(filepath.Join(dir, "env-injector"))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("copy differs from the running binary (%v)", err)
	}
	if code := run([]string{"--self-copy", filepath.Join(dir, "missing")}, &stderr); code != exitFailed {
		t.Fatalf("copy into a missing folder: exit %d", code)
	}
}
