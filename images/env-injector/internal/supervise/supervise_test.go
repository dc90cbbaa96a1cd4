// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package supervise

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func shell(t *testing.T, script string) *Child {
	t.Helper()
	c, err := Start([]string{"sh", "-c", script}, []string{"PATH=/usr/bin:/bin"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Terminate(0) })
	return c
}

// ready waits for the child to create file, i.e. to have set its traps.
func ready(t *testing.T, c *Child, file string) {
	t.Helper()
	for {
		if _, err := os.Stat(file); err == nil {
			return
		}
		select {
		case <-c.Done():
			t.Fatalf("child exited early with %d", c.ExitCode())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func TestExitCodeIsTheChilds(t *testing.T) {
	c := shell(t, "exit 7")
	<-c.Done()
	if c.ExitCode() != 7 {
		t.Fatalf("exit code %d, want 7", c.ExitCode())
	}
	c = shell(t, "kill -KILL $$")
	<-c.Done()
	if c.ExitCode() != 128+int(syscall.SIGKILL) {
		t.Fatalf("exit code %d, want %d", c.ExitCode(), 128+int(syscall.SIGKILL))
	}
}

func TestSignalsReachTheChild(t *testing.T) {
	for name, sig := range map[string]syscall.Signal{"USR1": syscall.SIGUSR1, "HUP": syscall.SIGHUP, "TERM": syscall.SIGTERM} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "ready")
			c := shell(t, `trap 'exit 42' `+name+`; touch `+file+`; while :; do sleep 0.02; done`)
			ready(t, c, file)
			// The signal goes to the injector (this process), as the
			// container runtime sends it; the child must get it.
			if err := syscall.Kill(os.Getpid(), sig); err != nil {
				t.Fatal(err)
			}
			<-c.Done()
			if c.ExitCode() != 42 {
				t.Fatalf("exit code %d, want 42 from the child's trap", c.ExitCode())
			}
		})
	}
}

func TestTerminateKillsAfterGrace(t *testing.T) {
	file := filepath.Join(t.TempDir(), "ready")
	c := shell(t, `trap '' TERM; touch `+file+`; while :; do sleep 0.02; done`)
	ready(t, c, file)
	c.Terminate(100 * time.Millisecond)
	if c.ExitCode() != 128+int(syscall.SIGKILL) {
		t.Fatalf("exit code %d, want SIGKILL's", c.ExitCode())
	}

	file = filepath.Join(t.TempDir(), "ready")
	c = shell(t, `trap 'exit 3' TERM; touch `+file+`; while :; do sleep 0.02; done`)
	ready(t, c, file)
	c.Terminate(time.Minute)
	if c.ExitCode() != 3 {
		t.Fatalf("exit code %d, want 3 from the TERM trap", c.ExitCode())
	}
}

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "app")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, cmd, path, want, err string
	}{
		{"found in the child's PATH", "app", "/nonexistent:" + dir, exe, ""},
		{"a path is taken as is", "./x/y", "", "./x/y", ""},
		{"not executable", "data", dir, "", "not found in PATH"},
		{"missing", "nope", dir, "", `command "nope" not found`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LookPath(tt.cmd, []string{"PATH=" + tt.path})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("LookPath = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// zombieOrGone says whether pid is a zombie, gone, or neither ("").
func zombieOrGone(pid string) string {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if os.IsNotExist(err) {
		return "gone"
	}
	// pid (comm) S ...: the state follows the last ')'.
	if i := strings.LastIndexByte(string(b), ')'); i > 0 && strings.HasPrefix(string(b[i+1:]), " Z") {
		return "zombie"
	}
	return ""
}

// An orphan of the application becomes the injector's child (as PID 1, or
// as the subreaper it makes itself here) and must be waited for: no zombie
// stays while the application runs on.
func TestOrphansAreReaped(t *testing.T) {
	dir := t.TempDir()
	pidFile, exited := filepath.Join(dir, "pid"), filepath.Join(dir, "exited")
	// The middle shell starts the grandchild and exits at once; the
	// grandchild outlives it, then exits while the application still runs.
	c := shell(t, `sh -c '(while [ ! -e `+pidFile+` ]; do sleep 0.01; done; touch `+exited+`) & echo $! > `+pidFile+`.tmp; mv `+pidFile+`.tmp `+pidFile+`'; while :; do sleep 0.05; done`)
	ready(t, c, exited)
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid := strings.TrimSpace(string(b))
	deadline := time.After(20 * time.Second)
	for {
		state := zombieOrGone(pid)
		if state == "gone" {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("the application's orphan %s is still there (%s), not reaped", pid, state)
		case <-time.After(20 * time.Millisecond):
		}
	}
	select {
	case <-c.Done():
		t.Fatalf("the application exited (%d) when its orphan did", c.ExitCode())
	default:
	}
}
