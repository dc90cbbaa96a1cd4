// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package unixsocket

import (
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestListen(t *testing.T) {
	cases := []struct {
		name    string
		mode    fs.FileMode
		before  func(t *testing.T, path string) // what a previous run left at path
		wantErr string                          // "" for success
	}{
		{name: "nothing there", mode: 0o600, before: func(*testing.T, string) {}},
		{name: "a group's socket", mode: 0o660, before: func(*testing.T, string) {}},
		{name: "a crashed run's socket", mode: 0o600, before: func(t *testing.T, path string) {
			ln, err := net.Listen("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			ln.(*net.UnixListener).SetUnlinkOnClose(false)
			ln.Close()
		}},
		{name: "a live socket", mode: 0o600, wantErr: "another process is serving on it", before: func(t *testing.T, path string) {
			ln, err := net.Listen("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
		}},
		{name: "a regular file", mode: 0o600, wantErr: "is a regular file, not a socket", before: func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("keep me"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "a folder", mode: 0o600, wantErr: "is a folder, not a socket", before: func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sub", "x.sock")
			if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
				t.Fatal(err)
			}
			c.before(t, path)
			before, _ := os.Lstat(path)
			ln, err := Listen("unix://"+path, c.mode)
			if c.wantErr != "" {
				if err == nil {
					ln.Close()
					t.Fatalf("Listen succeeded, want an error with %q", c.wantErr)
				}
				if !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), path) {
					t.Errorf("error %q, want one naming %s with %q", err, path, c.wantErr)
				}
				after, lerr := os.Lstat(path)
				if lerr != nil || !os.SameFile(before, after) {
					t.Errorf("what was at %s is gone or replaced (%v)", path, lerr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Listen: %v", err)
			}
			info, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			if info.Mode().Type() != fs.ModeSocket || info.Mode().Perm() != c.mode {
				t.Errorf("mode %v, want a socket with %v", info.Mode(), c.mode)
			}
			conn, err := net.Dial("unix", path)
			if err != nil {
				t.Fatalf("dial the new socket: %v", err)
			}
			conn.Close()
			ln.Close()
			if _, err := os.Lstat(path); !os.IsNotExist(err) {
				t.Errorf("the socket outlives its listener: %v", err)
			}
		})
	}
}

func TestPath(t *testing.T) {
	cases := []struct{ endpoint, want, wantErr string }{
		{endpoint: "unix:///csi/csi.sock", want: "/csi/csi.sock"},
		{endpoint: "/var/run/p/vault.sock", want: "/var/run/p/vault.sock"},
		{endpoint: "tcp://127.0.0.1:10000", wantErr: "only unix sockets"},
		{endpoint: "unix://", wantErr: "no socket path"},
		{endpoint: "", wantErr: "no socket path"},
	}
	for _, c := range cases {
		got, err := Path(c.endpoint)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("Path(%q) = %q, %v; want an error with %q", c.endpoint, got, err, c.wantErr)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Path(%q) = %q, %v; want %q", c.endpoint, got, err, c.want)
		}
	}
}
