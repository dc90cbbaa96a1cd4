// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package state keeps what rotation needs to know about a mounted volume in
// a small JSON file beside the target folder (in kubelet's folder of the
// volume), so a restarted driver goes on rotating existing mounts. It never
// holds secret values or tokens.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// suffix makes the file name: "<target>.secrets-store.json". Beside the
// target rather than inside it: the target is the tmpfs the pod reads.
const suffix = ".secrets-store.json"

// maxSize bounds what Load reads: a state is a few hundred bytes.
const maxSize = 1 << 20

// Pod identifies the pod the volume belongs to.
type Pod struct {
	Name           string `json:"name"`
	Namespace      string `json:"namespace"`
	UID            string `json:"uid"`
	ServiceAccount string `json:"serviceAccount"`
}

// Volume is a mounted volume's state.
type Volume struct {
	VolumeID   string `json:"volumeID"`
	TargetPath string `json:"targetPath"`
	// Import is the SecretsStoreImport as "namespace/name".
	Import string `json:"import"`
	Pod    Pod    `json:"pod"`
	// GID is the fsGroup the files belong to; -1 for none.
	GID int `json:"gid"`
	// LastFetch is when the provider last answered without error.
	LastFetch time.Time `json:"lastFetch"`
	// ObjectVersions are the provider's versions by object id (file name).
	ObjectVersions map[string]string `json:"objectVersions"`
	// Tampered says why the volume is no longer rotated: someone other
	// than the driver changed its files. Empty for a healthy volume.
	Tampered string `json:"tampered,omitempty"`
}

// Path is where the state of the volume at target is kept.
func Path(target string) string {
	target = filepath.Clean(target)
	return filepath.Join(filepath.Dir(target), filepath.Base(target)+suffix)
}

// Load reads the state of the volume at target; an error wrapping
// fs.ErrNotExist means there is none.
func Load(target string) (*Volume, error) {
	// O_NOFOLLOW: the file sits in kubelet's folder, out of the pod's
	// reach, but the driver runs as host root and follows no link there.
	f, err := os.OpenFile(Path(target), os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("read volume state: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSize))
	if err != nil {
		return nil, fmt.Errorf("read volume state: %w", err)
	}
	var v Volume
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("decode volume state %s: %w", Path(target), err)
	}
	return &v, nil
}

// Save writes v atomically (temporary file, then rename).
func Save(v *Volume) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode volume state: %w", err)
	}
	path := Path(v.TargetPath)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".state-*")
	if err != nil {
		return fmt.Errorf("write volume state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write volume state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write volume state: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write volume state: %w", err)
	}
	return nil
}

// Remove deletes the state of the volume at target; none is no error.
func Remove(target string) error {
	if err := os.Remove(Path(target)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove volume state: %w", err)
	}
	return nil
}
