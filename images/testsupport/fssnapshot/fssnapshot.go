// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package fssnapshot is test support, imported by tests only (the driver's
// atomic-writer tests here and the CSI driver suite in the test module, which
// is why it is not internal): it records a folder tree as it is on disk,
// without following links, so a test can show that a hostile volume made
// the driver change nothing outside what it wrote.
package fssnapshot

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// Tree records every path under dir, without following links, leaving out
// the subtree skip (empty: none): "mode uid:gid", then the contents of a
// regular file or " -> target" of a link.
func Tree(dir, skip string) (map[string]string, error) {
	got := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == skip {
			return filepath.SkipDir
		}
		e, err := entry(p, true)
		if err != nil {
			return err
		}
		got[p] = e
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", dir, err)
	}
	return got, nil
}

// Etc records /etc, its top level and the contents of /etc/passwd: what a
// RemoveAll, chmod, chown or write through a link to /etc changes first.
func Etc() (map[string]string, error) {
	entries, err := os.ReadDir("/etc")
	if err != nil {
		return nil, fmt.Errorf("snapshot /etc: %w", err)
	}
	paths := []string{"/etc"}
	for _, e := range entries {
		paths = append(paths, filepath.Join("/etc", e.Name()))
	}
	got := map[string]string{}
	for _, p := range paths {
		// Only passwd's contents: the rest of /etc may change under a
		// running system.
		if got[p], err = entry(p, p == "/etc/passwd"); err != nil {
			return nil, fmt.Errorf("snapshot /etc: %w", err)
		}
	}
	return got, nil
}

// entry describes path p, with a regular file's contents when withData.
func entry(p string, withData bool) (string, error) {
	info, err := os.Lstat(p)
	if err != nil {
		return "", err
	}
	st := info.Sys().(*syscall.Stat_t)
	e := fmt.Sprintf("%s %d:%d", info.Mode(), st.Uid, st.Gid)
	switch {
	case info.Mode().IsRegular() && withData:
		data, err := os.ReadFile(p)
		if err != nil {
			return "", err
		}
		e += " " + string(data)
	case info.Mode().Type() == fs.ModeSymlink:
		target, err := os.Readlink(p)
		if err != nil {
			return "", err
		}
		e += " -> " + target
	}
	return e, nil
}

// Diff lists what changed from before to after, one sorted line a path:
// "- path" gone, "+ path" new, "~ path: before -> after" changed.
func Diff(before, after map[string]string) string {
	var lines []string
	for k, v := range before {
		if w, ok := after[k]; !ok {
			lines = append(lines, "- "+k)
		} else if w != v {
			lines = append(lines, fmt.Sprintf("~ %s: %q -> %q", k, v, w))
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			lines = append(lines, "+ "+k)
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}
