// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package addonop

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

// TestBundleImageMatchesPrepareModule holds the module's image build
// (hooks/Dockerfile) and the tests' layout of the module (PrepareModule) to
// the same files: what addon-operator runs in the tests is what ships.
func TestBundleImageMatchesPrepareModule(t *testing.T) {
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dockerfile, err := os.ReadFile(filepath.Join(root, "hooks", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var copied []string
	var hooks bool
	for _, m := range regexp.MustCompile(`(?m)^COPY (--from=\S+ )?(\S+) (\S+)$`).FindAllStringSubmatch(string(dockerfile), -1) {
		from, src, dst := m[1], m[2], m[3]
		switch {
		case from != "":
			hooks = hooks || dst == "/hooks/"+HooksBinary
		case dst == "/"+src:
			copied = append(copied, src)
		}
	}
	if !hooks {
		t.Errorf("hooks/Dockerfile does not put the hooks program at /hooks/%s", HooksBinary)
	}
	want := slices.Clone(moduleFiles)
	slices.Sort(want)
	slices.Sort(copied)
	if !slices.Equal(copied, want) {
		t.Errorf("hooks/Dockerfile copies %v into the module image, PrepareModule %v", copied, want)
	}
}
