// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package atomicwriter

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func readAll(t *testing.T, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if strings.HasPrefix(rel, "..") || d.IsDir() {
			return nil
		}
		// Follow the user-visible symlinks, as a reader in the pod does.
		info, err := os.Stat(p)
		if err != nil {
			return err
		}
		if info.IsDir() {
			sub := readAll(t, p+"/")
			for k, v := range sub {
				got[rel+"/"+k] = v
			}
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		got[rel] = string(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestWrite(t *testing.T) {
	cases := []struct {
		name  string
		gid   int
		files []File
	}{
		{"flat", -1, []File{{Path: "password", Mode: 0o644, Contents: []byte("p1")}}},
		{"nested and modes", -1, []File{
			{Path: "db/password", Mode: 0o400, Contents: []byte("p")},
			{Path: "db/user", Mode: 0o440, Contents: []byte("u")},
			{Path: "tls.key", Mode: 0o600, Contents: []byte("k")},
		}},
		{"fsGroup", 4321, []File{{Path: "a", Mode: 0o440, Contents: []byte("a")}, {Path: "d/b", Mode: 0o640, Contents: []byte("b")}}},
		// With an fsGroup the group can always read: 0400 and 0600 gain g+r.
		{"fsGroup adds group read", 4321, []File{{Path: "k", Mode: 0o400, Contents: []byte("k")}, {Path: "t", Mode: 0o600, Contents: []byte("t")}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.gid >= 0 && os.Geteuid() != 0 {
				t.Skip("chown to another group needs root")
			}
			dir := t.TempDir()
			w := Writer{Dir: dir, GID: c.gid}
			if err := w.Write(c.files); err != nil {
				t.Fatalf("Write: %v", err)
			}
			got := readAll(t, dir)
			for _, f := range c.files {
				if got[f.Path] != string(f.Contents) {
					t.Errorf("%s = %q, want %q", f.Path, got[f.Path], f.Contents)
				}
				info, err := os.Stat(filepath.Join(dir, f.Path))
				if err != nil {
					t.Fatal(err)
				}
				want := f.Mode
				if c.gid >= 0 {
					want |= 0o040
				}
				if info.Mode().Perm() != want {
					t.Errorf("%s mode %v, want %v", f.Path, info.Mode().Perm(), want)
				}
				if c.gid >= 0 && int(info.Sys().(*syscall.Stat_t).Gid) != c.gid {
					t.Errorf("%s gid %d, want %d", f.Path, info.Sys().(*syscall.Stat_t).Gid, c.gid)
				}
				read, err := w.Read(f.Path)
				if err != nil || string(read.Contents) != string(f.Contents) || read.Mode != want {
					t.Errorf("Read(%s) = %+v, %v", f.Path, read, err)
				}
			}
			if len(got) != len(c.files) {
				t.Errorf("volume holds %v, want %d files", got, len(c.files))
			}
		})
	}
}

func TestWriteReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	w := Writer{Dir: dir, GID: -1}
	if err := w.Write([]File{{Path: "a", Mode: 0o644, Contents: []byte("1")}, {Path: "old/x", Mode: 0o644, Contents: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	first, _ := os.Readlink(filepath.Join(dir, dataDir))
	if !strings.HasPrefix(first, "..20") {
		t.Errorf("..data points to %q, want a timestamped folder", first)
	}
	if err := w.Write([]File{{Path: "a", Mode: 0o600, Contents: []byte("2")}, {Path: "b", Mode: 0o644, Contents: []byte("b")}}); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, dir)
	if len(got) != 2 || got["a"] != "2" || got["b"] != "b" {
		t.Errorf("after rewrite: %v", got)
	}
	if _, err := os.Lstat(filepath.Join(dir, first)); !os.IsNotExist(err) {
		t.Errorf("previous folder %s not removed: %v", first, err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "old")); !os.IsNotExist(err) {
		t.Errorf("link of a removed name stays: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 4 { // a, b, ..data, ..<timestamp>
		t.Errorf("volume root holds %v", names)
	}
}

func TestWriteRefusesEscapes(t *testing.T) {
	cases := []struct {
		name string
		path string
		want string
	}{
		{"dot dot", "../escape", "contains '..'"},
		{"inner dot dot", "a/../../escape", "contains '..'"},
		{"absolute", "/etc/passwd", "absolute path"},
		{"bookkeeping", "..data", "starts with '..'"},
		{"unclean", "a/./b", "not a clean path"},
		{"empty", "", "empty file name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			err := Writer{Dir: dir, GID: -1}.Write([]File{{Path: "ok", Mode: 0o644}, {Path: c.path, Mode: 0o644, Contents: []byte("x")}})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("refused write left %d entries", len(entries))
			}
		})
	}
	if err := ValidatePaths([]File{{Path: "a"}, {Path: "a"}}); err == nil {
		t.Error("duplicate names accepted")
	}
	if err := ValidatePaths([]File{{Path: "a"}, {Path: "a/b"}}); err == nil {
		t.Error("a file that is also a folder accepted")
	}
}
