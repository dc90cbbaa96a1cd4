// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package fssnapshot

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTreeSeesContentsLinksAndModesAndSkips(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "f"), []byte("one"), 0o600))
	must(os.Symlink("/etc", filepath.Join(dir, "l")))
	must(os.MkdirAll(filepath.Join(dir, "skip", "deep"), 0o755))
	before, err := Tree(dir, filepath.Join(dir, "skip"))
	must(err)
	if len(before) != 3 { // dir, f, l; nothing under skip, nothing through l
		t.Fatalf("Tree = %v, want dir, f and l", before)
	}
	if !strings.HasSuffix(before[filepath.Join(dir, "l")], " -> /etc") {
		t.Errorf("link entry %q", before[filepath.Join(dir, "l")])
	}
	for _, change := range []func(){
		func() { must(os.WriteFile(filepath.Join(dir, "f"), []byte("two"), 0o600)) },
		func() { must(os.Chmod(filepath.Join(dir, "f"), 0o644)) },
		func() { must(os.Remove(filepath.Join(dir, "l"))); must(os.Symlink("/", filepath.Join(dir, "l"))) },
		func() { must(os.WriteFile(filepath.Join(dir, "new"), nil, 0o600)) },
	} {
		change()
		after, err := Tree(dir, filepath.Join(dir, "skip"))
		must(err)
		if Diff(before, after) == "" {
			t.Errorf("a change went unseen: %v -> %v", before, after)
		}
		before = after
	}
	must(os.WriteFile(filepath.Join(dir, "skip", "x"), nil, 0o600))
	after, err := Tree(dir, filepath.Join(dir, "skip"))
	must(err)
	if d := Diff(before, after); d != "" {
		t.Errorf("a change in the skipped subtree showed: %s", d)
	}
}

func TestEtcHoldsPasswd(t *testing.T) {
	etc, err := Etc()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(etc["/etc/passwd"], "root:") || etc["/etc"] == "" {
		t.Errorf("Etc = %d entries; passwd %q", len(etc), etc["/etc/passwd"])
	}
}
