// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package unixsocket opens the unix sockets the node binaries serve gRPC
// on (the CSI socket kubelet calls, the provider socket the driver calls):
// with the permissions the caller names from the first moment, and over a
// socket a crashed run left behind, but never over anything else.
package unixsocket

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// umaskMu serializes the umask changes of Listen: the umask is the
// process's, not the goroutine's. Binaries listen at start-up, before any
// goroutine of theirs creates files, so none gets the socket's umask.
var umaskMu sync.Mutex

// Path returns the socket path of endpoint, "unix:///csi/csi.sock" or a
// plain path.
func Path(endpoint string) (string, error) {
	path := endpoint
	if u, err := url.Parse(endpoint); err == nil && u.Scheme != "" {
		if u.Scheme != "unix" {
			return "", fmt.Errorf("endpoint %q: only unix sockets are supported", endpoint)
		}
		path = u.Path
	}
	if path == "" {
		return "", fmt.Errorf("endpoint %q: no socket path", endpoint)
	}
	return path, nil
}

// Listen listens on the socket of endpoint (see Path) with permissions
// mode, making its folder if missing. A socket nobody serves on (a crashed
// run's) is replaced; a socket another process serves on, or a file that
// is not a socket, is an error rather than removed. Closing the listener
// removes the socket.
func Listen(endpoint string, mode fs.FileMode) (net.Listener, error) {
	path, err := Path(endpoint)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("make socket folder for %s: %w", path, err)
	}
	if err := removeStale(path); err != nil {
		return nil, err
	}
	// bind creates the socket with 0777 less the umask: set it so that the
	// socket never has more than mode, not even until the chmod below.
	umaskMu.Lock()
	old := syscall.Umask(int(0o777 &^ mode.Perm()))
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	umaskMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	// The umask cannot add bits (group write for a shared socket, say).
	if err := os.Chmod(path, mode.Perm()); err != nil {
		ln.Close()
		return nil, fmt.Errorf("set the mode of socket %s: %w", path, err)
	}
	return ln, nil
}

// removeStale removes path if it is a socket that refuses connections.
func removeStale(path string) error {
	info, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check for a stale socket %s: %w", path, err)
	}
	if info.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("%s is a %s, not a socket: not removing it", path, kind(info.Mode()))
	}
	// A second instance (a rollout's new pod before the old one stopped)
	// must not take the socket from a live one.
	conn, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		conn.Close()
		return fmt.Errorf("socket %s: another process is serving on it", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove stale socket %s: %w", path, err)
	}
	return nil
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "folder"
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	case m.IsRegular():
		return "regular file"
	default:
		return "special file"
	}
}
