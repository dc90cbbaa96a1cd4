// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package components

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"syscall"
)

// Mount is one line of /proc/self/mountinfo.
type Mount struct {
	// Point is where it is mounted.
	Point string
	// FSType is the file system type, e.g. tmpfs.
	FSType string
	// Options are the per-mount options, e.g. "ro,nosuid,nodev,relatime".
	Options string
}

// Mounts lists what is mounted in this process's mount namespace.
func Mounts() ([]Mount, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("list mounts: %w", err)
	}
	var mounts []Mount
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		// After the " - " separator: fstype, source, super options.
		_, after, ok := strings.Cut(line, " - ")
		if len(fields) < 6 || !ok || len(strings.Fields(after)) == 0 {
			continue
		}
		mounts = append(mounts, Mount{Point: fields[4], FSType: strings.Fields(after)[0], Options: fields[5]})
	}
	return mounts, nil
}

// MountAt is what is mounted at dir; ok is false if nothing is.
func MountAt(dir string) (m Mount, ok bool, err error) {
	mounts, err := Mounts()
	if err != nil {
		return Mount{}, false, err
	}
	// The last one wins: it hides those below.
	for _, mount := range mounts {
		if mount.Point == dir {
			m, ok = mount, true
		}
	}
	return m, ok, nil
}

// UnmountAll detaches whatever is still mounted below dir, so a failed run
// leaves no mounts behind.
func UnmountAll(dir string) error {
	mounts, err := Mounts()
	if err != nil {
		return err
	}
	var points []string
	for _, m := range mounts {
		if strings.HasPrefix(m.Point, dir+"/") {
			points = append(points, m.Point)
		}
	}
	// Deepest first.
	sort.Sort(sort.Reverse(sort.StringSlice(points)))
	var errs []error
	for _, p := range points {
		if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil {
			errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}
