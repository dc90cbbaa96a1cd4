// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package keyfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, content string
		wantLen       int
		wantErr       string
	}{
		{"32 bytes with newline", strings.Repeat("ab", 32) + "\n", 32, ""},
		{"16 bytes", strings.Repeat("01", 16), 16, ""},
		{"too short", strings.Repeat("01", 15), 0, "at least 16"},
		{"not hex", strings.Repeat("zz", 16), 0, "at least 16"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-"))
			if err := os.WriteFile(path, []byte(c.content), 0o600); err != nil {
				t.Fatal(err)
			}
			key, err := Read(path)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || strings.Contains(err.Error(), c.content[:8]) {
					t.Fatalf("error %v, want one containing %q and not the content", err, c.wantErr)
				}
				return
			}
			if err != nil || len(key) != c.wantLen {
				t.Fatalf("Read = %d bytes, %v; want %d", len(key), err, c.wantLen)
			}
		})
	}
	if _, err := Read(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing file gave no error")
	}
}
