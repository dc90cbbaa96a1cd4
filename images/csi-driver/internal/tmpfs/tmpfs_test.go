// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package tmpfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestMountCycle(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting tmpfs needs root")
	}
	dir := filepath.Join(t.TempDir(), "with space")
	if err := os.Mkdir(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if m, err := IsMounted(dir); err != nil || m {
		t.Fatalf("IsMounted before = %v, %v", m, err)
	}
	if err := Mount(dir, 1234, Limits{Bytes: 64 << 10, Inodes: 8}); err != nil {
		t.Skipf("tmpfs mounts not permitted here: %v", err)
	}
	t.Cleanup(func() { _ = Unmount(dir) })
	if m, err := IsMounted(dir); err != nil || !m {
		t.Fatalf("IsMounted after mount = %v, %v", m, err)
	}
	// The limits hold: more bytes or more files than allowed is ENOSPC.
	if err := os.WriteFile(filepath.Join(dir, "big"), make([]byte, 128<<10), 0o600); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("writing past size=: %v, want ENOSPC", err)
	}
	var inodeErr error
	for i := 0; i < 16 && inodeErr == nil; i++ {
		inodeErr = os.WriteFile(filepath.Join(dir, fmt.Sprint("f", i)), nil, 0o600)
	}
	if !errors.Is(inodeErr, syscall.ENOSPC) {
		t.Errorf("16 files past nr_inodes=8: %v, want ENOSPC", inodeErr)
	}
	if err := Unmount(dir); err != nil {
		t.Fatal(err)
	}
	if err := Unmount(dir); err != nil {
		t.Errorf("second unmount: %v", err)
	}
	if m, _ := IsMounted(dir); m {
		t.Error("still mounted")
	}
	if m, err := IsMounted(filepath.Join(dir, "missing")); err != nil || m {
		t.Errorf("missing path: %v, %v", m, err)
	}
}
