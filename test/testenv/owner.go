// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package testenv

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/deckhouse/secrets-store-integration/test/supervisor"
)

// startServer runs one server of the environment in dir (its working
// directory and HOME). Stop gives it 10s after SIGTERM and accepts any exit:
// only that it is gone matters.
func startServer(name, dir, bin string, args ...string) (*supervisor.Process, error) {
	p := &supervisor.Process{
		Name: name, Bin: bin, Args: args, Dir: dir, Env: append(os.Environ(), "HOME="+dir),
		StopTimeout: 10 * time.Second, AnyExit: true,
	}
	return p, p.Start(context.Background())
}

// ownerFile marks an environment folder with the pid of the test binary that
// made it, so a later run can remove folders left by a killed one.
const ownerFile = "owner.pid"

func markOwner(dir string) error {
	return os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o600)
}

// sweepStale removes environment folders whose owner is no longer running.
func sweepStale(parent, pattern string) {
	dirs, _ := filepath.Glob(filepath.Join(parent, pattern))
	for _, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(string(data))
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			_ = os.RemoveAll(dir)
		}
	}
}
