// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package driver

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/deckhouse/secrets-store-integration/images/csi-driver/internal/tmpfs"
)

// A pod that got a writable volume anyway (or anything else on the node)
// replaced "..data": the next rotation reports it, follows nothing, keeps
// the files and refuses later publishes without asking the store again.
func TestRotationReportsTamperingAndStops(t *testing.T) {
	f := newFixture(t)
	var logs bytes.Buffer
	f.node.cfg.Log = slog.New(slog.NewTextHandler(&logs, nil))
	ctx := context.Background()
	target := filepath.Join(f.dir, "mount")
	if _, err := f.node.NodePublishVolume(ctx, f.request(target)); err != nil {
		t.Fatal(err)
	}
	ts, err := os.Readlink(filepath.Join(target, "..data"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(target, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc", filepath.Join(target, "..data")); err != nil {
		t.Fatal(err)
	}
	for i, wantCalls := range []int{2, 2} {
		f.clock.t = f.clock.t.Add(3 * f.node.cfg.RotationInterval)
		_, err := f.node.NodePublishVolume(ctx, f.request(target))
		msg := status.Convert(err).Message()
		if status.Code(err) != codes.FailedPrecondition || !strings.HasPrefix(msg, "SecretsStoreImport demo/app: ") ||
			!strings.Contains(msg, `..data is a symlink to "/etc"`) || !strings.Contains(msg, "recreate the pod") {
			t.Fatalf("publish %d: %v, want FailedPrecondition naming ..data and /etc", i, err)
		}
		if f.provider.calls != wantCalls {
			t.Errorf("publish %d: provider calls %d, want %d", i, f.provider.calls, wantCalls)
		}
	}
	if got := testutil.ToFloat64(f.node.cfg.Metrics.VolumeTampering); got != 1 {
		t.Errorf("tampering metric %v, want 1 (counted once, when found)", got)
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "path=..data") ||
		strings.Contains(logs.String(), "jwt-secret-token") {
		t.Errorf("log:\n%s", logs.String())
	}
	// Kept as it was: the timestamped folder and its files.
	if got := read(t, filepath.Join(target, ts, "a")); got != "1" {
		t.Errorf("previous file a = %q", got)
	}
}

func TestVolumeLimits(t *testing.T) {
	page := os.Getpagesize()
	cases := []struct {
		name   string
		limits VolumeLimits
		// a is the value of file "a"; db/b holds "2".
		a    string
		want string
	}{
		{"fits twice", VolumeLimits{Bytes: int64(4 * page), Inodes: 16}, "1", ""},
		{"bytes", VolumeLimits{Bytes: int64(4 * page), Inodes: 1024, BytesSetting: "volumeSizeLimit"},
			strings.Repeat("x", page+1), "more than half the volume size limit of 16 KiB (module setting volumeSizeLimit"},
		{"inodes", VolumeLimits{Bytes: 1 << 20, Inodes: 15, InodesSetting: "volumeInodeLimit"},
			"1", "take 8 inodes, more than half the volume limit of 15 (module setting volumeInodeLimit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t)
			target := filepath.Join(f.dir, "mount")
			f.node.cfg.Limits = c.limits
			f.provider.values["a"] = c.a
			_, err := f.node.NodePublishVolume(ctx, f.request(target))
			checkLimitError(t, err, c.want)
			if c.want == "" {
				return
			}
			// A volume that once fitted keeps its files when a rotation
			// brings more than fits.
			f.node.cfg.Limits = VolumeLimits{}
			f.provider.values["a"] = "1"
			if _, err := f.node.NodePublishVolume(ctx, f.request(target)); err != nil {
				t.Fatal(err)
			}
			f.node.cfg.Limits = c.limits
			f.provider.values["a"] = c.a + "." // a new version
			f.clock.t = f.clock.t.Add(3 * f.node.cfg.RotationInterval)
			_, err = f.node.NodePublishVolume(ctx, f.request(target))
			checkLimitError(t, err, c.want)
			if got := read(t, filepath.Join(target, "a")); got != "1" {
				t.Errorf("after a refused rotation a = %q, want the previous 1", got)
			}
		})
	}
}

func checkLimitError(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("publish: %v", err)
		}
		return
	}
	msg := status.Convert(err).Message()
	if status.Code(err) != codes.ResourceExhausted || !strings.HasPrefix(msg, "SecretsStoreImport demo/app: ") ||
		!strings.Contains(msg, want) || !strings.Contains(msg, "the previous files are kept") {
		t.Fatalf("publish: %v, want ResourceExhausted containing %q", err, want)
	}
}

// smallTmpfs mounts real tmpfs file systems of 16 KiB.
type smallTmpfs struct{}

func (smallTmpfs) Mount(dir string, gid int) error {
	return tmpfs.Mount(dir, gid, tmpfs.Limits{Bytes: 16 << 10, Inodes: 64})
}
func (smallTmpfs) Unmount(dir string) error           { return tmpfs.Unmount(dir) }
func (smallTmpfs) IsMounted(dir string) (bool, error) { return tmpfs.IsMounted(dir) }

// Past the check (here: no limits told to the driver), the kernel's
// ENOSPC is the same clear error, and the volume keeps its files.
func TestFullTmpfsIsAClearError(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting tmpfs needs root")
	}
	f := newFixture(t)
	f.node.cfg.Mounter = smallTmpfs{}
	f.node.cfg.Limits = VolumeLimits{BytesSetting: "volumeSizeLimit", InodesSetting: "volumeInodeLimit"}
	ctx := context.Background()
	target := filepath.Join(f.dir, "mount")
	t.Cleanup(func() { _ = tmpfs.Unmount(target) })
	if _, err := f.node.NodePublishVolume(ctx, f.request(target)); err != nil {
		t.Fatal(err)
	}
	f.provider.values["a"] = strings.Repeat("x", 32<<10)
	f.clock.t = f.clock.t.Add(3 * f.node.cfg.RotationInterval)
	_, err := f.node.NodePublishVolume(ctx, f.request(target))
	msg := status.Convert(err).Message()
	if status.Code(err) != codes.ResourceExhausted || msg != "SecretsStoreImport demo/app: the files do not fit in the volume: "+
		"its size limit (module settings volumeSizeLimit, volumeInodeLimit) was reached; the previous files are kept" {
		t.Fatalf("publish: %v", err)
	}
	if got := read(t, filepath.Join(target, "a")); got != "1" {
		t.Errorf("a = %q after the failed rotation, want the previous 1", got)
	}
}
