// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package atomicwriter writes a volume's files the way kubelet's atomic
// writer does, so a reader never sees a half-written set: the files go
// into a fresh timestamped folder, a "..data" symlink is swapped to it
// with rename(2), and the names users see are symlinks into "..data".
//
// The driver runs as host root, and the volume is a folder a pod can see:
// whatever is in it may have been planted. So the writer follows no
// symlink it did not make and never reaches outside the volume. Names
// directly in the volume go through os.Root, whose calls act on a link
// itself and never leave the root; deeper paths are opened with openat2
// and RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS, which fail on any symlink on
// the way (os.Root would follow one that stays inside the root). What
// does not look like the writer's own work is a *TamperError, and the
// writer stops before changing anything.
package atomicwriter

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/deckhouse/secrets-store-integration/images/internal/params"
)

const (
	dataDir     = "..data"
	dataDirTmp  = "..data_tmp"
	dirMode     = 0o755
	tsDirLayout = "..2006_01_02_15_04_05."
)

// tsDirPattern is the only shape of a "..data" target: one path element
// named as makeTimestampDir names it (os.MkdirTemp's random suffix, used
// by earlier versions, has the same shape).
var tsDirPattern = regexp.MustCompile(`^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.\d{1,20}$`)

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

// TamperError says the volume holds something the writer did not make:
// someone else wrote there. The writer neither follows nor removes it.
type TamperError struct {
	// Path is the name in the volume, relative to it.
	Path string
	// Found is what is there, Want what the writer would have made.
	Found, Want string
}

func (e *TamperError) Error() string {
	return fmt.Sprintf("volume changed by someone other than the driver: %s is %s, want %s; the driver does not follow it",
		e.Path, e.Found, e.Want)
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
		for d := path.Dir(f.Path); d != "."; d = path.Dir(d) {
			if seen[d] {
				return fmt.Errorf("file name %q is also a folder of %q", d, f.Path)
			}
		}
	}
	return nil
}

// Write replaces the volume's content with files. It checks the volume
// before changing anything, so on a *TamperError the files the pod reads
// are the ones it read before.
func (w Writer) Write(files []File) error {
	if err := ValidatePaths(files); err != nil {
		return err
	}
	root, err := os.OpenRoot(w.Dir)
	if err != nil {
		return fmt.Errorf("open volume: %w", err)
	}
	defer root.Close()
	oldTS, err := currentTimestampDir(root)
	if err != nil {
		return err
	}
	visible := visibleNames(files)
	if err := checkBookkeeping(root, visible); err != nil {
		return err
	}
	tsName, err := makeTimestampDir(root)
	if err != nil {
		return err
	}
	if err := w.fill(root, tsName, files); err != nil {
		_ = root.RemoveAll(tsName)
		return err
	}
	if err := swapData(root, tsName); err != nil {
		_ = root.RemoveAll(tsName)
		return err
	}
	if err := linkVisible(root, visible); err != nil {
		return err
	}
	if oldTS != "" {
		// Checked above: a real folder of the writer's naming. RemoveAll
		// in a Root unlinks the links inside it and follows none.
		if err := root.RemoveAll(oldTS); err != nil {
			return fmt.Errorf("remove previous files %s: %w", oldTS, err)
		}
	}
	return nil
}

// Read returns one file of the current "..data" with its mode. A symlink
// anywhere on the way, or anything but a regular file, is a *TamperError.
func (w Writer) Read(name string) (File, error) {
	if err := params.ValidateFileName(name); err != nil {
		return File{}, fmt.Errorf("file name: %w", err)
	}
	root, err := os.OpenRoot(w.Dir)
	if err != nil {
		return File{}, fmt.Errorf("open volume: %w", err)
	}
	defer root.Close()
	ts, err := currentTimestampDir(root)
	if err != nil {
		return File{}, err
	}
	if ts == "" {
		return File{}, fmt.Errorf("read current file %q: %w", name, fs.ErrNotExist)
	}
	top, err := openTop(root)
	if err != nil {
		return File{}, err
	}
	defer top.Close()
	rel := ts + "/" + name
	// O_NONBLOCK: a planted FIFO must not hang the driver; it is refused
	// below as not a regular file.
	f, err := openBeneath(top, rel, unix.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return File{}, fmt.Errorf("read current file %q: %w", name, classify(rel, err, "a regular file"))
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return File{}, fmt.Errorf("read current file %q: %w", name, err)
	}
	if !info.Mode().IsRegular() {
		return File{}, &TamperError{Path: rel, Found: describe(info), Want: "a regular file"}
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return File{}, fmt.Errorf("read current file %q: %w", name, err)
	}
	return File{Path: name, Mode: info.Mode().Perm(), Contents: data}, nil
}

// currentTimestampDir is the folder "..data" points to, "" if none. It
// must be a link the writer could have made to a real folder.
func currentTimestampDir(root *os.Root) (string, error) {
	const want = "a symlink to a timestamped folder such as ..2006_01_02_15_04_05.123"
	info, err := root.Lstat(dataDir)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("inspect %s: %w", dataDir, err)
	}
	if info.Mode().Type() != fs.ModeSymlink {
		return "", &TamperError{Path: dataDir, Found: describe(info), Want: want}
	}
	target, err := root.Readlink(dataDir)
	if err != nil {
		return "", fmt.Errorf("read %s link: %w", dataDir, err)
	}
	if !tsDirPattern.MatchString(target) {
		return "", &TamperError{Path: dataDir, Found: fmt.Sprintf("a symlink to %q", target), Want: want}
	}
	ts, err := root.Lstat(target)
	if err != nil {
		// The writer swaps "..data" only to a filled folder and removes
		// the old one after the swap: a dangling link is not its work.
		return "", &TamperError{Path: dataDir, Found: fmt.Sprintf("a symlink to %q, which is missing", target), Want: want}
	}
	if !ts.IsDir() {
		return "", &TamperError{Path: target, Found: describe(ts), Want: "a folder"}
	}
	return target, nil
}

// checkBookkeeping refuses names in the volume's top folder that the
// writer is about to replace but did not make: a visible name that is not
// the writer's link into "..data", a "..data_tmp" that is not a link.
func checkBookkeeping(root *os.Root, visible map[string]bool) error {
	for name := range visible {
		info, err := root.Lstat(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("inspect %q: %w", name, err)
		}
		if err := checkOwnLink(root, name, info); err != nil {
			return err
		}
	}
	info, err := root.Lstat(dataDirTmp)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("inspect %s: %w", dataDirTmp, err)
	case info.Mode().Type() != fs.ModeSymlink:
		return &TamperError{Path: dataDirTmp, Found: describe(info), Want: "a symlink left by an interrupted write, or nothing"}
	}
	return nil
}

// checkOwnLink accepts only the link the writer makes for a visible name.
func checkOwnLink(root *os.Root, name string, info fs.FileInfo) error {
	want := fmt.Sprintf("a symlink to %q", linkTarget(name))
	if info.Mode().Type() != fs.ModeSymlink {
		return &TamperError{Path: name, Found: describe(info), Want: want}
	}
	target, err := root.Readlink(name)
	if err != nil {
		return fmt.Errorf("read link %q: %w", name, err)
	}
	if target != linkTarget(name) {
		return &TamperError{Path: name, Found: fmt.Sprintf("a symlink to %q", target), Want: want}
	}
	return nil
}

func linkTarget(name string) string { return dataDir + "/" + name }

// makeTimestampDir makes a fresh folder for the new files. Mkdir does not
// follow a link at the name, so a planted one only makes it try another.
func makeTimestampDir(root *os.Root) (string, error) {
	var err error
	for range 100 {
		name := time.Now().UTC().Format(tsDirLayout) + strconv.FormatUint(uint64(rand.Uint32()), 10)
		err = root.Mkdir(name, dirMode)
		if err == nil {
			return name, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	return "", fmt.Errorf("make timestamped folder: %w", err)
}

// fill writes files into the fresh folder tsName.
func (w Writer) fill(root *os.Root, tsName string, files []File) error {
	top, err := openTop(root)
	if err != nil {
		return err
	}
	defer top.Close()
	ts, err := openBeneath(top, tsName, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return classify(tsName, err, "the folder the driver just made")
	}
	defer ts.Close()
	if err := w.own(ts, tsName, dirMode); err != nil {
		return err
	}
	for _, f := range files {
		if err := w.writeFile(ts, tsName, f); err != nil {
			return err
		}
	}
	return nil
}

func (w Writer) writeFile(ts *os.File, tsName string, f File) error {
	dir, err := w.mkdirs(ts, tsName, path.Dir(f.Path))
	if err != nil {
		return err
	}
	if dir != ts {
		defer dir.Close()
	}
	rel := tsName + "/" + f.Path
	// O_EXCL: the folder is new and every name in it is written once, so
	// anything already there was planted; O_CREAT|O_EXCL never follows it.
	out, err := openBeneath(dir, path.Base(f.Path), unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write file %q: %w", f.Path, classify(rel, err, "nothing (a new file)"))
	}
	defer out.Close()
	if _, err := out.Write(f.Contents); err != nil {
		return fmt.Errorf("write file %q: %w", f.Path, err)
	}
	// Set the mode after any chown: chown clears set-id bits, and the
	// umask must not narrow what was asked.
	if err := w.own(out, f.Path, f.Mode.Perm()); err != nil {
		return err
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("write file %q: %w", f.Path, err)
	}
	return nil
}

// mkdirs makes the folders of rel under ts one at a time, each owned like
// the files, and returns the innermost (ts itself for "."). Each step is
// mkdirat then openat2 of one name in a folder already opened without
// links, so a link planted at a folder's name is refused, not followed.
func (w Writer) mkdirs(ts *os.File, tsName, rel string) (*os.File, error) {
	if rel == "." {
		return ts, nil
	}
	dir, done := ts, tsName
	for _, part := range strings.Split(rel, "/") {
		done += "/" + part
		err := unix.Mkdirat(int(dir.Fd()), part, dirMode)
		created := err == nil
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("make folder %q: %w", rel, err)
		}
		next, err := openBeneath(dir, part, unix.O_RDONLY|unix.O_DIRECTORY, 0)
		if dir != ts {
			dir.Close()
		}
		if err != nil {
			return nil, fmt.Errorf("make folder %q: %w", rel, classify(done, err, "a folder"))
		}
		dir = next
		if created {
			if err := w.own(dir, done, dirMode); err != nil {
				dir.Close()
				return nil, err
			}
		}
	}
	return dir, nil
}

// own sets group and mode through the open file, never through a path.
func (w Writer) own(f *os.File, name string, mode os.FileMode) error {
	if w.GID >= 0 {
		if err := f.Chown(-1, w.GID); err != nil {
			return fmt.Errorf("give %s to group %d: %w", name, w.GID, err)
		}
		// The group must be able to read, or an fsGroup pod's non-root
		// user could not: kubelet does the same for Secret volumes, and
		// with VOLUME_MOUNT_GROUP it leaves ownership to the driver.
		mode |= 0o040
	}
	if err := f.Chmod(mode); err != nil {
		return fmt.Errorf("set mode of %s: %w", name, err)
	}
	return nil
}

// swapData points "..data" at tsName in one rename.
func swapData(root *os.Root, tsName string) error {
	// checkBookkeeping made sure a leftover is a link: Remove unlinks it.
	if err := root.Remove(dataDirTmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove stale %s: %w", dataDirTmp, err)
	}
	if err := root.Symlink(tsName, dataDirTmp); err != nil {
		return fmt.Errorf("link %s: %w", dataDirTmp, err)
	}
	if err := root.Rename(dataDirTmp, dataDir); err != nil {
		_ = root.Remove(dataDirTmp)
		return fmt.Errorf("swap %s: %w", dataDir, err)
	}
	return nil
}

// visibleNames are the top-level names of files.
func visibleNames(files []File) map[string]bool {
	want := make(map[string]bool)
	for _, f := range files {
		want[strings.SplitN(f.Path, "/", 2)[0]] = true
	}
	return want
}

// linkVisible makes a symlink "x" -> "..data/x" for each visible name and
// removes the writer's links of names that are gone. Other entries are
// not the writer's and stay untouched.
func linkVisible(root *os.Root, visible map[string]bool) error {
	for name := range visible {
		if target, err := root.Readlink(name); err == nil && target == linkTarget(name) {
			continue
		}
		if err := root.Symlink(linkTarget(name), name); err != nil {
			return fmt.Errorf("link %q: %w", name, err)
		}
	}
	top, err := openTop(root)
	if err != nil {
		return err
	}
	defer top.Close()
	entries, err := top.ReadDir(-1)
	if err != nil {
		return fmt.Errorf("list the volume: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, "..") || visible[name] || e.Type()&fs.ModeSymlink == 0 {
			continue
		}
		if target, err := root.Readlink(name); err != nil || target != linkTarget(name) {
			continue
		}
		if err := root.Remove(name); err != nil {
			return fmt.Errorf("remove old link %q: %w", name, err)
		}
	}
	return nil
}

// openTop opens the volume's own folder, the start of every openat2.
func openTop(root *os.Root) (*os.File, error) {
	top, err := root.OpenFile(".", os.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, fmt.Errorf("open volume: %w", err)
	}
	return top, nil
}

// openBeneath opens name under dir with openat2, refusing any symlink
// (ELOOP), any ".." or absolute step out of dir (EXDEV) and any crossing
// into another mount (EXDEV).
func openBeneath(dir *os.File, name string, flags int, mode uint32) (*os.File, error) {
	how := unix.OpenHow{
		Flags: uint64(flags | unix.O_CLOEXEC | unix.O_NOFOLLOW),
		Mode:  uint64(mode),
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS |
			unix.RESOLVE_NO_XDEV,
	}
	for attempt := 0; ; attempt++ {
		fd, err := unix.Openat2(int(dir.Fd()), name, &how)
		// EAGAIN: a rename elsewhere on the file system raced the lookup.
		if (errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN)) && attempt < 10 {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "openat2", Path: name, Err: err}
		}
		return os.NewFile(uintptr(fd), name), nil
	}
}

// classify turns openat2's refusals into a *TamperError for rel.
func classify(rel string, err error, want string) error {
	found := ""
	switch {
	case errors.Is(err, unix.ELOOP):
		found = "a symlink, or has one on its way"
	case errors.Is(err, unix.EXDEV):
		found = "outside the volume"
	case errors.Is(err, unix.ENOTDIR):
		found = "not a folder, or has a non-folder on its way"
	case errors.Is(err, unix.EEXIST):
		found = "already there"
	default:
		return err
	}
	return &TamperError{Path: rel, Found: found, Want: want}
}

// describe names what info is, for a *TamperError.
func describe(info fs.FileInfo) string {
	switch t := info.Mode().Type(); {
	case t == fs.ModeSymlink:
		return "a symlink"
	case info.IsDir():
		return "a folder"
	case t == 0:
		return "a regular file"
	default:
		return "a " + t.String() + " file"
	}
}

// Footprint is what one copy of files takes in a tmpfs with pages of
// page bytes: tmpfs charges whole pages for contents, and an inode for
// each file, folder and link the writer makes ("..data", "..data_tmp",
// the timestamped folder, the visible links).
func Footprint(files []File, page int64) (bytes, inodes int64) {
	dirs := map[string]bool{}
	for _, f := range files {
		bytes += (int64(len(f.Contents)) + page - 1) / page * page
		for d := path.Dir(f.Path); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	return bytes, int64(3 + len(files) + len(dirs) + len(visibleNames(files)))
}
