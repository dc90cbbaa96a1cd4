package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestListenReplacesStaleSocketOwnerOnly(t *testing.T) {
	endpoint := filepath.Join(t.TempDir(), "sub", "vault.sock")
	if err := os.MkdirAll(filepath.Dir(endpoint), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(endpoint, []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	lis, err := listen(endpoint)
	if err != nil {
		t.Fatalf("listen over a stale file: %v", err)
	}
	defer lis.Close()
	info, err := os.Stat(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode()&os.ModeSocket == 0 || info.Mode().Perm() != 0o600 {
		t.Errorf("endpoint mode %v, want a socket with 0600", info.Mode())
	}
}

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
