// Package atomicwriter writes a volume's files the way kubelet's atomic
// writer does, so a reader never sees a half-written set: the files go
// into a fresh timestamped folder, a "..data" symlink is swapped to it
// with rename(2), and the names users see are symlinks into "..data".
package atomicwriter

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/deckhouse/secrets-store-integration/images/internal/params"
)

const (
	dataDir     = "..data"
	dataDirTmp  = "..data_tmp"
	dirMode     = 0o755
	tsDirLayout = "..2006_01_02_15_04_05."
)

// File is one file of the volume.
type File struct {
	// Path is relative to the volume, e.g. "db/password".
	Path     string
	Mode     os.FileMode
	Contents []byte
}

// Writer writes into Dir. GID, when not negative, group-owns every file and
// folder it creates (the pod's fsGroup) and makes them group-readable.
type Writer struct {
	Dir string
	GID int
}

// ValidatePaths refuses names that would leave the volume or clash with
// its bookkeeping (absolute, "..", hidden "..x"), and duplicates.
func ValidatePaths(files []File) error {
	seen := make(map[string]bool, len(files))
	for _, f := range files {
		if err := params.ValidateFileName(f.Path); err != nil {
			return fmt.Errorf("file name: %w", err)
		}
		if seen[f.Path] {
			return fmt.Errorf("file name %q given twice", f.Path)
		}
		seen[f.Path] = true
	}
	// A file cannot also be a folder of another file ("a" and "a/b").
	for _, f := range files {
		for d := filepath.Dir(f.Path); d != "."; d = filepath.Dir(d) {
			if seen[d] {
				return fmt.Errorf("file name %q is also a folder of %q", d, f.Path)
			}
		}
	}
	return nil
}

// Write replaces the volume's content with files.
func (w Writer) Write(files []File) error {
	if err := ValidatePaths(files); err != nil {
		return err
	}
	oldTS, err := w.currentTimestampDir()
	if err != nil {
		return err
	}
	tsDir, err := os.MkdirTemp(w.Dir, time.Now().UTC().Format(tsDirLayout))
	if err != nil {
		return fmt.Errorf("make timestamped folder in %s: %w", w.Dir, err)
	}
	if err := w.fill(tsDir, files); err != nil {
		_ = os.RemoveAll(tsDir)
		return err
	}
	if err := w.swapData(filepath.Base(tsDir)); err != nil {
		_ = os.RemoveAll(tsDir)
		return err
	}
	if err := w.linkVisible(files); err != nil {
		return err
	}
	if oldTS != "" {
		if err := os.RemoveAll(filepath.Join(w.Dir, oldTS)); err != nil {
			return fmt.Errorf("remove previous files %s: %w", oldTS, err)
		}
	}
	return nil
}

// Read returns one file of the current "..data" with its mode.
func (w Writer) Read(path string) (File, error) {
	if err := params.ValidateFileName(path); err != nil {
		return File{}, fmt.Errorf("file name: %w", err)
	}
	full := filepath.Join(w.Dir, dataDir, path)
	info, err := os.Lstat(full)
	if err != nil {
		return File{}, fmt.Errorf("read current file %q: %w", path, err)
	}
	if !info.Mode().IsRegular() {
		return File{}, fmt.Errorf("read current file %q: not a regular file", path)
	}
	data, err := os.ReadFile(full)
	if err != nil {
		return File{}, fmt.Errorf("read current file %q: %w", path, err)
	}
	return File{Path: path, Mode: info.Mode().Perm(), Contents: data}, nil
}

// currentTimestampDir is the folder "..data" points to, "" if none.
func (w Writer) currentTimestampDir() (string, error) {
	target, err := os.Readlink(filepath.Join(w.Dir, dataDir))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read %s link: %w", dataDir, err)
	}
	return target, nil
}

func (w Writer) fill(tsDir string, files []File) error {
	if err := w.own(tsDir, dirMode); err != nil {
		return err
	}
	for _, f := range files {
		full := filepath.Join(tsDir, f.Path)
		if err := w.mkdirs(tsDir, filepath.Dir(f.Path)); err != nil {
			return err
		}
		if err := os.WriteFile(full, f.Contents, 0o600); err != nil {
			return fmt.Errorf("write file %q: %w", f.Path, err)
		}
		// Set the mode after any chown: chown clears set-id bits, and the
		// umask must not narrow what was asked.
		if err := w.own(full, f.Mode.Perm()); err != nil {
			return err
		}
	}
	return nil
}

// mkdirs creates rel's folders under root, each owned like the files.
func (w Writer) mkdirs(root, rel string) error {
	if rel == "." {
		return nil
	}
	dir := root
	for _, part := range strings.Split(rel, "/") {
		dir = filepath.Join(dir, part)
		err := os.Mkdir(dir, dirMode)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("make folder %q: %w", rel, err)
		}
		if err := w.own(dir, dirMode); err != nil {
			return err
		}
	}
	return nil
}

func (w Writer) own(path string, mode os.FileMode) error {
	if w.GID >= 0 {
		if err := os.Lchown(path, -1, w.GID); err != nil {
			return fmt.Errorf("give %s to group %d: %w", filepath.Base(path), w.GID, err)
		}
		// The group must be able to read, or an fsGroup pod's non-root
		// user could not: kubelet does the same for Secret volumes, and
		// with VOLUME_MOUNT_GROUP it leaves ownership to the driver.
		mode |= 0o040
	}
	if err := os.Chmod(path, mode); err != nil {
		return fmt.Errorf("set mode of %s: %w", filepath.Base(path), err)
	}
	return nil
}

// swapData points "..data" at tsName in one rename.
func (w Writer) swapData(tsName string) error {
	tmp := filepath.Join(w.Dir, dataDirTmp)
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove stale %s: %w", dataDirTmp, err)
	}
	if err := os.Symlink(tsName, tmp); err != nil {
		return fmt.Errorf("link %s: %w", dataDirTmp, err)
	}
	if err := os.Rename(tmp, filepath.Join(w.Dir, dataDir)); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("swap %s: %w", dataDir, err)
	}
	return nil
}

// linkVisible makes a symlink "x" -> "..data/x" for each top-level name of
// files and removes the links of names that are gone.
func (w Writer) linkVisible(files []File) error {
	want := make(map[string]bool)
	for _, f := range files {
		want[strings.SplitN(f.Path, "/", 2)[0]] = true
	}
	for name := range want {
		link := filepath.Join(w.Dir, name)
		target := filepath.Join(dataDir, name)
		if cur, err := os.Readlink(link); err == nil && cur == target {
			continue
		}
		if err := os.RemoveAll(link); err != nil {
			return fmt.Errorf("replace %q: %w", name, err)
		}
		if err := os.Symlink(target, link); err != nil {
			return fmt.Errorf("link %q: %w", name, err)
		}
	}
	entries, err := os.ReadDir(w.Dir)
	if err != nil {
		return fmt.Errorf("list %s: %w", w.Dir, err)
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, "..") || want[name] || e.Type()&fs.ModeSymlink == 0 {
			continue
		}
		if err := os.Remove(filepath.Join(w.Dir, name)); err != nil {
			return fmt.Errorf("remove old link %q: %w", name, err)
		}
	}
	return nil
}
