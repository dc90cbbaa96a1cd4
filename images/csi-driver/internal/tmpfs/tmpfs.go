// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package tmpfs mounts and unmounts the in-memory file systems that hold a
// volume's secrets, so they never touch a disk.
package tmpfs

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
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

// IsMounted reports whether dir is a mount point, from the kernel's mount
// table (a bind or tmpfs mount on the same device shows no other trace).
func IsMounted(dir string) (bool, error) {
	resolved, err := filepath.EvalSymlinks(dir)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("resolve %s: %w", dir, err)
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false, fmt.Errorf("read mount table: %w", err)
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 64*1024), 1024*1024)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) > 4 && unescape(fields[4]) == resolved {
			return true, nil
		}
	}
	if err := scanner.Err(); err != nil {
		return false, fmt.Errorf("read mount table: %w", err)
	}
	return false, nil
}

// unescape decodes mountinfo's octal escapes (\040 for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
