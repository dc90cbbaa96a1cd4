// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package containerdenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The layout kubelet's atomic writer leaves, which the plugin reads through
// an os.Root: token -> ..data/token, ..data -> ..<timestamp>; a second
// write swaps ..data and leaves token as it is.
func TestAtomicWriteLaysOutAsKubelet(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "secrets-store-token")
	for _, content := range []string{"first", "second"} {
		if err := atomicWrite(dir, "token", []byte(content)); err != nil {
			t.Fatal(err)
		}
		link, err := os.Readlink(filepath.Join(dir, "token"))
		if err != nil || link != filepath.Join("..data", "token") {
			t.Fatalf("token links to %q (%v), want ..data/token", link, err)
		}
		data, err := os.Readlink(filepath.Join(dir, "..data"))
		if err != nil || !strings.HasPrefix(data, "..") || strings.Contains(data, "/") {
			t.Fatalf("..data links to %q (%v), want a ..<timestamp> folder beside it", data, err)
		}
		root, err := os.OpenRoot(dir)
		if err != nil {
			t.Fatal(err)
		}
		got, err := root.ReadFile("token")
		root.Close()
		if err != nil || string(got) != content {
			t.Fatalf("read through os.Root: %q (%v), want %q", got, err, content)
		}
	}
}
