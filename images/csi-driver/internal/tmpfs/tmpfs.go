// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package tmpfs mounts and unmounts the in-memory file systems that hold a
// volume's secrets, so they never touch a disk.
package tmpfs

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"

	"golang.org/x/sys/unix"
	"k8s.io/mount-utils"
)

// Limits are a tmpfs's size= in bytes and nr_inodes=; zero is the
// kernel's default (half the node's memory), which no volume should get.
type Limits struct {
	Bytes, Inodes int64
}

// Mount mounts a tmpfs at dir (which must exist). With gid >= 0 the root
// folder belongs to that group and is closed to others.
func Mount(dir string, gid int, l Limits) error {
	opts := "mode=0755"
	if gid >= 0 {
		opts = "mode=0750,gid=" + strconv.Itoa(gid)
	}
	if l.Bytes > 0 {
		opts += ",size=" + strconv.FormatInt(l.Bytes, 10)
	}
	if l.Inodes > 0 {
		opts += ",nr_inodes=" + strconv.FormatInt(l.Inodes, 10)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		return fmt.Errorf("mount tmpfs at %s: %w", dir, err)
	}
	return nil
}

// Unmount unmounts dir; a dir that is not a mount point is no error.
func Unmount(dir string) error {
	err := unix.Unmount(dir, 0)
	if err == nil || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
		return nil
	}
	return fmt.Errorf("unmount %s: %w", dir, err)
}

// IsMounted reports whether dir is a mount point. mount-utils asks the
// kernel (openat2 across a mount boundary) and falls back to the mount table
// for a bind or tmpfs mount on the same device, which shows no other trace.
// Mount and Unmount above stay system calls: mount-utils' Mounter runs the
// mount and umount programs, which the driver's image does not carry.
func IsMounted(dir string) (bool, error) {
	mounted, err := mounter.IsMountPoint(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check mount of %s: %w", dir, err)
	}
	return mounted, nil
}

var mounter = mount.New("")
