// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package testenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const childEnvVar = "SSI_TESTENV_CHILD"

// TestKilledRunLeavesNothingBehind starts the environment in a child test
// binary, kills that binary with SIGKILL (no cleanup code runs), and checks
// that the servers die with it and that the next Start removes its folder.
func TestKilledRunLeavesNothingBehind(t *testing.T) {
	if os.Getenv(childEnvVar) != "" {
		t.Skip("runs as the parent only")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	child := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestChildHoldsEnvironment$", "-test.v")
	child.Env = append(os.Environ(), childEnvVar+"=1")
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	defer child.Process.Kill()

	dir, pids := readChildReport(t, out)
	if err := child.Process.Kill(); err != nil {
		t.Fatalf("kill child: %v", err)
	}
	_ = child.Wait()

	// Generous: a server killed by SIGKILL is gone in milliseconds.
	waitCtx, cancelWait := context.WithTimeout(ctx, 20*time.Second)
	defer cancelWait()
	for _, pid := range pids {
		if err := waitGone(waitCtx, pid); err != nil {
			t.Errorf("server pid %d: %v", pid, err)
		}
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the killed run's folder %s should still be there before the sweep: %v", dir, err)
	}
	sweepStale(filepath.Dir(dir), dirPattern)
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("folder %s of the killed run survived the sweep: %v", dir, err)
	}
}

// TestChildHoldsEnvironment is the child of TestKilledRunLeavesNothingBehind:
// it reports its environment and waits to be killed.
func TestChildHoldsEnvironment(t *testing.T) {
	if os.Getenv(childEnvVar) == "" {
		t.Skip("runs as the child of TestKilledRunLeavesNothingBehind only")
	}
	env, err := Start(context.Background(), Options{Log: testWriter{t}})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	fmt.Printf("DIR %s\n", env.Dir)
	for _, p := range env.procs {
		fmt.Printf("PID %d\n", p.PID())
	}
	fmt.Println("READY")
	select {} // until killed
}

func readChildReport(t *testing.T, out interface{ Read([]byte) (int, error) }) (dir string, pids []int) {
	t.Helper()
	scanner := bufio.NewScanner(out)
	for scanner.Scan() {
		line := scanner.Text()
		switch {
		case strings.HasPrefix(line, "DIR "):
			dir = strings.TrimPrefix(line, "DIR ")
		case strings.HasPrefix(line, "PID "):
			pid, err := strconv.Atoi(strings.TrimPrefix(line, "PID "))
			if err != nil {
				t.Fatalf("child said %q", line)
			}
			pids = append(pids, pid)
		case line == "READY":
			if dir == "" || len(pids) != 3 {
				t.Fatalf("child reported dir %q and pids %v", dir, pids)
			}
			return dir, pids
		}
	}
	t.Fatalf("child ended before it was ready: %v", scanner.Err())
	return "", nil
}

// waitGone waits until pid no longer exists. The servers were the child's
// children: once it dies they are reparented and reaped by init.
func waitGone(ctx context.Context, pid int) error {
	for {
		err := syscall.Kill(pid, 0)
		if errors.Is(err, syscall.ESRCH) {
			return nil
		}
		if isZombie(pid) {
			return nil // dead, waiting for its new parent to reap it
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("still running after its test binary was killed: kill(0) = %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func isZombie(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// Field 3, after the parenthesised command name, is the state.
	i := strings.LastIndexByte(string(data), ')')
	return i > 0 && len(data) > i+2 && data[i+2] == 'Z'
}
