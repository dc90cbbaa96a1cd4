// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestVersionKey(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name    string
		path    string
		wantLen int
		wantErr bool
	}{
		{"random", "", 32, false},
		{"hex file", write("ok", "00112233445566778899aabbccddeeff\n"), 16, false},
		{"too short", write("short", "0011"), 0, true},
		{"not hex", write("bad", "zz112233445566778899aabbccddeeff"), 0, true},
		{"missing", filepath.Join(dir, "none"), 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			key, err := versionKey(c.path)
			if (err != nil) != c.wantErr || len(key) != c.wantLen {
				t.Errorf("versionKey = %d bytes, %v", len(key), err)
			}
		})
	}
}
