// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package atomicwriter

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deckhouse/secrets-store-integration/images/testsupport/fssnapshot"
)

// FuzzWriter plants a random tree of files, folders and links in a
// written volume, then reads the kept files and writes again, as a
// rotation does. Whatever the tree, nothing outside the volume changes,
// and a Write that succeeds leaves the volume the writer's own.
//
// Each op is three bytes: what to plant (file, folder, link, remove),
// where (plantNames) and, for a link, its target (plantTargets).
// Run longer with:
//
//	go test ./csi-driver/internal/atomicwriter -run '^$' -fuzz FuzzWriter -fuzztime 60s
func FuzzWriter(f *testing.F) {
	// Seeds: the links of TestTamperedVolumeIsReportedNotFollowed.
	f.Add([]byte{3, 0, 0, 2, 0, 0})   // ..data -> ..
	f.Add([]byte{3, 0, 0, 2, 0, 1})   // ..data -> ../canary
	f.Add([]byte{3, 0, 0, 2, 0, 2})   // ..data -> canary, absolute
	f.Add([]byte{3, 0, 0, 2, 0, 4})   // ..data -> /etc
	f.Add([]byte{3, 5, 0, 2, 5, 2})   // timestamped folder -> canary
	f.Add([]byte{3, 6, 0, 2, 6, 3})   // kept file -> canary/a
	f.Add([]byte{3, 7, 0, 2, 7, 9})   // kept folder -> canary/db
	f.Add([]byte{3, 2, 0, 2, 2, 3})   // visible a -> canary/a
	f.Add([]byte{3, 3, 0, 2, 3, 9})   // visible db -> canary/db
	f.Add([]byte{2, 1, 2, 0, 10, 0})  // ..data_tmp -> canary, a stray file
	f.Add([]byte{1, 10, 0, 2, 11, 1}) // a spare timestamp folder, a link in it
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 60 {
			ops = ops[:60]
		}
		fx := newFixture(t)
		canary := snapshot(t, fx.base, fx.vol)
		plantTree(t, fx, ops)

		var te *TamperError
		for _, name := range []string{"a", "db/b"} {
			if _, err := fx.w.Read(name); err != nil && !errors.As(err, &te) && !errors.Is(err, os.ErrNotExist) {
				t.Logf("Read %s: %v", name, err)
			}
		}
		err := fx.w.Write(secondFiles)
		if err == nil {
			checkOwnVolume(t, fx)
		}
		if after := snapshot(t, fx.base, fx.vol); !maps.Equal(after, canary) {
			t.Fatalf("outside the volume changed (write error %v):\n%s", err, fssnapshot.Diff(canary, after))
		}
	})
}

// plantNames are where ops plant, "TS" standing for the timestamped folder
// "..data" points to after the first write.
var plantNames = []string{
	"..data", "..data_tmp", "a", "db", "other", "TS", "TS/a", "TS/db", "TS/db/b", "TS/db/c",
	"..2026_01_01_00_00_00.1", "..2026_01_01_00_00_00.1/a",
}

// plantTargets are the links' targets; "CANARY" and "BASE" are absolute.
var plantTargets = []string{
	"..", "../canary", "CANARY", "CANARY/a", "/etc", "/", "TS", "..data/a", ".", "CANARY/db",
	"..2026_01_01_00_00_00.1", "BASE", "../../canary/db", "..data", "db",
}

// plantTree plays a root container with the volume mounted writable. It
// goes through an os.Root, so a link it plants cannot make the test
// itself write outside the volume.
func plantTree(t *testing.T, fx *fixture, ops []byte) {
	t.Helper()
	root, err := os.OpenRoot(fx.vol)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	ts := fx.ts(t)
	expand := func(s string) string {
		s = strings.ReplaceAll(s, "TS", ts)
		s = strings.ReplaceAll(s, "CANARY", fx.canary)
		return strings.ReplaceAll(s, "BASE", fx.base)
	}
	for i := 0; i+2 < len(ops); i += 3 {
		name := expand(plantNames[int(ops[i+1])%len(plantNames)])
		// Errors are expected: the parent may be missing or a link.
		switch ops[i] % 4 {
		case 0:
			_ = root.WriteFile(name, []byte("planted"), 0o644)
		case 1:
			_ = root.Mkdir(name, 0o755)
		case 2:
			_ = root.Symlink(expand(plantTargets[int(ops[i+2])%len(plantTargets)]), name)
		case 3:
			_ = root.RemoveAll(name)
		}
	}
}

// checkOwnVolume: after a successful Write every visible name is the
// writer's link and "..data" its folder, with the new files.
func checkOwnVolume(t *testing.T, fx *fixture) {
	t.Helper()
	ts := fx.ts(t)
	if !tsDirPattern.MatchString(ts) {
		t.Fatalf("..data -> %q after a successful Write", ts)
	}
	for _, f := range secondFiles {
		data, err := os.ReadFile(filepath.Join(fx.vol, ts, f.Path))
		if err != nil || string(data) != string(f.Contents) {
			t.Fatalf("%s = %q, %v after a successful Write", f.Path, data, err)
		}
	}
	for _, name := range []string{"a", "db"} {
		if target, err := os.Readlink(filepath.Join(fx.vol, name)); err != nil || target != linkTarget(name) {
			t.Fatalf("visible %s -> %q, %v after a successful Write", name, target, err)
		}
	}
}
