// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package csidriver

import (
	"os"
	"path/filepath"
	"sort"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/deckhouse/secrets-store-integration/test/components"
)

func newVolume(name string) components.Volume {
	GinkgoHelper()
	v, err := kubelet.NewVolume(name)
	Expect(err).NotTo(HaveOccurred())
	return v
}

// mountType is the file system type mounted at dir and its mount options,
// "" if none.
func mountType(dir string) string {
	GinkgoHelper()
	m, ok, err := components.MountAt(dir)
	Expect(err).NotTo(HaveOccurred())
	if !ok {
		return ""
	}
	return m.FSType + " " + m.Options
}

// files lists the names a reader of the volume sees (hidden names aside).
func files(dir string) []string {
	GinkgoHelper()
	var names []string
	var walk func(rel string)
	walk = func(rel string) {
		entries, err := os.ReadDir(filepath.Join(dir, rel))
		Expect(err).NotTo(HaveOccurred())
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "..") {
				continue
			}
			name := filepath.Join(rel, e.Name())
			info, err := os.Stat(filepath.Join(dir, name))
			Expect(err).NotTo(HaveOccurred())
			if info.IsDir() {
				walk(name)
				continue
			}
			names = append(names, name)
		}
	}
	walk("")
	sort.Strings(names)
	return names
}

func read(path string) string {
	GinkgoHelper()
	data, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred())
	return string(data)
}
