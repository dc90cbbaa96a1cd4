// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package state

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	target := filepath.Join(t.TempDir(), "mount")
	if _, err := Load(target); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load of nothing: %v", err)
	}
	in := &Volume{
		VolumeID: "csi-1", TargetPath: target, Import: "demo/app",
		Pod: Pod{Name: "web", Namespace: "demo", UID: "u", ServiceAccount: "app"},
		GID: 2000, LastFetch: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
		ObjectVersions: map[string]string{"a": "v1", "db/b": "v2"},
	}
	if err := Save(in); err != nil {
		t.Fatal(err)
	}
	if Path(target) != target+".secrets-store.json" {
		t.Errorf("Path = %s", Path(target))
	}
	info, err := os.Stat(Path(target))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("state file mode: %v, %v", info, err)
	}
	out, err := Load(target + "/")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip:\n in %+v\nout %+v", in, out)
	}
	if err := Remove(target); err != nil {
		t.Fatal(err)
	}
	if err := Remove(target); err != nil {
		t.Errorf("second Remove: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(target)); len(entries) != 0 {
		t.Errorf("left %v", entries)
	}
}
