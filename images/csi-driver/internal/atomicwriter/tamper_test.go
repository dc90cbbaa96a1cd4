// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package atomicwriter

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/deckhouse/secrets-store-integration/images/testsupport/fssnapshot"
)

// The volume of these tests sits in base beside a canary folder; a
// hostile pod plants links into the volume that lead to the canary, to
// the volume's parent or to /etc. The canary must come out unchanged.

var (
	firstFiles = []File{
		{Path: "a", Mode: 0o644, Contents: []byte("1")},
		{Path: "db/b", Mode: 0o640, Contents: []byte("2")},
	}
	secondFiles = []File{
		{Path: "a", Mode: 0o600, Contents: []byte("1b")},
		{Path: "db/b", Mode: 0o644, Contents: []byte("2b")},
		{Path: "db/c", Mode: 0o644, Contents: []byte("3")},
	}
)

// canaryGID owns the canary, so a chown through a link would show.
const canaryGID = 4242

// snapshot records every entry under dir without following links,
// skipping the subtree skip.
func snapshot(t testing.TB, dir, skip string) map[string]string {
	t.Helper()
	got, err := fssnapshot.Tree(dir, skip)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// etcSnapshot is /etc's top level and its passwd file: enough to see a
// RemoveAll, chmod or chown of /etc, or a file written into it.
func etcSnapshot(t testing.TB) map[string]string {
	t.Helper()
	got, err := fssnapshot.Etc()
	if err != nil {
		t.Fatal(err)
	}
	return got
}

type fixture struct {
	base, vol, canary string
	w                 Writer
}

// newFixture makes base/vol holding firstFiles and base/canary holding
// files of the same names, modes the writer never sets and, as root, a
// group of their own.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	base := t.TempDir()
	f := &fixture{base: base, vol: filepath.Join(base, "vol"), canary: filepath.Join(base, "canary"), w: Writer{GID: -1}}
	f.w.Dir = f.vol
	if os.Geteuid() == 0 {
		f.w.GID = 2000
	}
	for _, d := range []string{f.vol, filepath.Join(f.canary, "db")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"a", "db/b", "db/c", "password"} {
		p := filepath.Join(f.canary, name)
		if err := os.WriteFile(p, []byte("canary "+name), 0o604); err != nil {
			t.Fatal(err)
		}
	}
	if os.Geteuid() == 0 {
		for _, p := range []string{f.canary, filepath.Join(f.canary, "db"), filepath.Join(f.canary, "a"), filepath.Join(f.canary, "db/b")} {
			if err := os.Lchown(p, -1, canaryGID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := f.w.Write(firstFiles); err != nil {
		t.Fatalf("first write: %v", err)
	}
	return f
}

// ts is the timestamped folder "..data" points to now.
func (f *fixture) ts(t testing.TB) string {
	t.Helper()
	ts, err := os.Readlink(filepath.Join(f.vol, dataDir))
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func (f *fixture) replace(t testing.TB, name string, plant func(p string) error) {
	t.Helper()
	p := filepath.Join(f.vol, name)
	if err := os.RemoveAll(p); err != nil {
		t.Fatal(err)
	}
	if err := plant(p); err != nil {
		t.Fatal(err)
	}
}

func link(target string) func(string) error {
	return func(p string) error { return os.Symlink(target, p) }
}

func folder(p string) error {
	if err := os.Mkdir(p, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(p, "x"), []byte("x"), 0o644)
}

func TestTamperedVolumeIsReportedNotFollowed(t *testing.T) {
	cases := []struct {
		name  string
		plant func(t *testing.T, f *fixture)
		// Which calls must see the tampering: Write (and then change
		// nothing), Read of the kept files.
		write, read bool
	}{
		{"..data to the parent", func(t *testing.T, f *fixture) { f.replace(t, dataDir, link("..")) }, true, true},
		{"..data to the canary, relative", func(t *testing.T, f *fixture) { f.replace(t, dataDir, link("../canary")) }, true, true},
		{"..data to the canary, absolute", func(t *testing.T, f *fixture) { f.replace(t, dataDir, link(f.canary)) }, true, true},
		{"..data to /etc", func(t *testing.T, f *fixture) { f.replace(t, dataDir, link("/etc")) }, true, true},
		{"..data to a timestamp name with a slash", func(t *testing.T, f *fixture) {
			f.replace(t, dataDir, link(f.ts(t)+"/../../canary"))
		}, true, true},
		{"..data is a folder", func(t *testing.T, f *fixture) { f.replace(t, dataDir, folder) }, true, true},
		{"..data dangles", func(t *testing.T, f *fixture) { f.replace(t, dataDir, link("..2026_01_01_00_00_00.1")) }, true, true},
		{"timestamped folder is a symlink to the canary", func(t *testing.T, f *fixture) {
			f.replace(t, f.ts(t), link(f.canary))
		}, true, true},
		{"timestamped folder is a symlink to /etc", func(t *testing.T, f *fixture) {
			f.replace(t, f.ts(t), link("/etc"))
		}, true, true},
		{"a kept file is a symlink", func(t *testing.T, f *fixture) {
			f.replace(t, f.ts(t)+"/a", link(filepath.Join(f.canary, "a")))
			f.replace(t, f.ts(t)+"/db/b", link("../a"))
		}, false, true},
		{"a kept file's folder is a symlink", func(t *testing.T, f *fixture) {
			f.replace(t, f.ts(t)+"/db", link(filepath.Join(f.canary, "db")))
			f.replace(t, f.ts(t)+"/a", link("db"))
		}, false, true},
		{"a kept file is a FIFO", func(t *testing.T, f *fixture) {
			f.replace(t, f.ts(t)+"/a", func(p string) error { return syscall.Mkfifo(p, 0o644) })
			f.replace(t, f.ts(t)+"/db/b", func(p string) error { return syscall.Mkfifo(p, 0o644) })
		}, false, true},
		{"a visible file name is a symlink to the canary", func(t *testing.T, f *fixture) {
			f.replace(t, "a", link(filepath.Join(f.canary, "a")))
		}, true, false},
		{"a visible folder name is a symlink to the canary", func(t *testing.T, f *fixture) {
			f.replace(t, "db", link(filepath.Join(f.canary, "db")))
		}, true, false},
		{"a visible name is a folder", func(t *testing.T, f *fixture) { f.replace(t, "a", folder) }, true, false},
		{"..data_tmp is a folder", func(t *testing.T, f *fixture) { f.replace(t, dataDirTmp, folder) }, true, false},
		{"..data_tmp is a symlink to the canary (unlinked, not followed)", func(t *testing.T, f *fixture) {
			f.replace(t, dataDirTmp, link(f.canary))
		}, false, false},
		{"an unknown name links to the canary (left alone)", func(t *testing.T, f *fixture) {
			f.replace(t, "other", link(f.canary))
		}, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			canary := snapshot(t, f.base, f.vol)
			etc := etcSnapshot(t)
			c.plant(t, f)
			planted := snapshot(t, f.vol, "")

			for _, name := range []string{"a", "db/b"} {
				_, err := f.w.Read(name)
				checkTamper(t, "Read "+name, err, c.read)
			}
			err := f.w.Write(secondFiles)
			checkTamper(t, "Write", err, c.write)
			if c.write {
				if after := snapshot(t, f.vol, ""); !maps.Equal(after, planted) {
					t.Errorf("a refused Write changed the volume:\n%s", fssnapshot.Diff(planted, after))
				}
			} else if err == nil {
				if got := readAll(t, f.vol); got["a"] != "1b" || got["db/c"] != "3" {
					t.Errorf("after Write the volume holds %v", got)
				}
			}
			if after := snapshot(t, f.base, f.vol); !maps.Equal(after, canary) {
				t.Errorf("outside the volume changed:\n%s", fssnapshot.Diff(canary, after))
			}
			if after := etcSnapshot(t); !maps.Equal(after, etc) {
				t.Errorf("/etc changed:\n%s", fssnapshot.Diff(etc, after))
			}
		})
	}
}

// A link planted where the writer is about to make a file or a folder in
// its fresh timestamped folder (a race a writable volume would allow).
func TestFillRefusesPlantedNames(t *testing.T) {
	cases := []struct{ name, plant, target string }{
		{"symlink where a file will be written", "a", "canary/a"},
		{"symlink where a folder will be written", "db", "canary/db"},
		{"dangling symlink where a file will be written", "a", "canary/new"},
		{"file where a folder will be written", "db", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			canary := snapshot(t, f.base, f.vol)
			root, err := os.OpenRoot(f.vol)
			if err != nil {
				t.Fatal(err)
			}
			defer root.Close()
			ts, err := makeTimestampDir(root)
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(f.vol, ts, c.plant)
			if c.target == "" {
				err = os.WriteFile(p, []byte("planted"), 0o644)
			} else {
				err = os.Symlink(filepath.Join(f.base, c.target), p)
			}
			if err != nil {
				t.Fatal(err)
			}
			checkTamper(t, "fill", f.w.fill(root, ts, secondFiles), true)
			if after := snapshot(t, f.base, f.vol); !maps.Equal(after, canary) {
				t.Errorf("outside the volume changed:\n%s", fssnapshot.Diff(canary, after))
			}
		})
	}
}

func checkTamper(t *testing.T, what string, err error, want bool) {
	t.Helper()
	var te *TamperError
	switch {
	case want && !errors.As(err, &te):
		t.Errorf("%s: error %v, want a *TamperError", what, err)
	case want:
		if !strings.Contains(err.Error(), "does not follow it") {
			t.Errorf("%s: message %q does not say the driver did not follow it", what, err)
		}
	case errors.As(err, &te):
		t.Errorf("%s: unexpected tampering reported: %v", what, err)
	}
}
