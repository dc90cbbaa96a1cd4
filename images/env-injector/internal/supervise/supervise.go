// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package supervise runs the application as a child of the injector, for
// the watch modes: the injector stays PID 1 of the container, passes every
// signal on, and can end the application when its secrets go stale.
package supervise

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// forwarded are the signals a container runtime or a user sends that the
// application, not the injector, is meant to handle.
var forwarded = []os.Signal{
	syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH,
}

// Child is the running application.
type Child struct {
	cmd   *exec.Cmd
	done  chan struct{}
	state syscall.WaitStatus
	stop  func()
}

// prSetChildSubreaper is prctl's PR_SET_CHILD_SUBREAPER (linux/prctl.h).
const prSetChildSubreaper = 36

// Start starts argv with env, stdio inherited, and forwards signals to it
// until it exits.
func Start(argv, env []string) (*Child, error) {
	if len(argv) == 0 {
		return nil, errors.New("no command to run")
	}
	path, err := LookPath(argv[0], env)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, argv[1:]...)
	cmd.Args = argv
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// Should the injector be killed, the application must not run on
	// without it watching its secrets.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}

	// The injector is PID 1 of the container in the watch modes, so every
	// process the application orphans (a daemonizing helper, a shell's
	// background job) becomes the injector's child, and stays a zombie
	// until it is waited for. Outside a PID namespace of its own, it asks
	// to be the subreaper of its descendants, with the same effect.
	if os.Getpid() != 1 {
		if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
			return nil, fmt.Errorf("become the subreaper of the application's processes: %w", errno)
		}
	}
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, forwarded...)
	reaping.Do(func() {
		// Registered before the first start: an exit right after it must
		// not be missed.
		chld := make(chan os.Signal, 1)
		signal.Notify(chld, syscall.SIGCHLD)
		go reap(chld)
	})
	c := &Child{cmd: cmd, done: make(chan struct{})}
	// Held across the start, so that the reaper finds the child registered
	// even if it exits at once.
	mu.Lock()
	err = cmd.Start()
	if err == nil {
		children[cmd.Process.Pid] = c
	}
	mu.Unlock()
	if err != nil {
		signal.Stop(sigs)
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	quit := make(chan struct{})
	c.stop = func() { signal.Stop(sigs); close(quit) }
	go func() {
		for {
			select {
			case s := <-sigs:
				_ = cmd.Process.Signal(s)
			case <-quit:
				return
			}
		}
	}()
	return c, nil
}

var (
	reaping  sync.Once
	mu       sync.Mutex
	children = map[int]*Child{} // started and not yet exited, by pid
)

// reap waits for every child of the process that exits, the applications
// started here and whatever they orphaned, on each SIGCHLD (signals
// coalesce: one may stand for several exits, hence the loop). A started
// child's status goes to its Child; os/exec's Wait is not used, since
// wait4(-1) here would take the child from under it. One reaper serves the
// whole process: two would take each other's children.
func reap(chld <-chan os.Signal) {
	for range chld {
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if err == syscall.EINTR {
				continue
			}
			if pid <= 0 || err != nil {
				break // none exited yet (0) or no children left (ECHILD)
			}
			mu.Lock()
			c := children[pid]
			delete(children, pid)
			mu.Unlock()
			if c != nil {
				c.state = ws
				c.stop()
				close(c.done)
			}
		}
	}
}

// PID is the child's process id.
func (c *Child) PID() int { return c.cmd.Process.Pid }

// Done is closed when the child has exited.
func (c *Child) Done() <-chan struct{} { return c.done }

// ExitCode is the child's exit status as a shell reports it: the code, or
// 128 plus the signal that killed it. Valid after Done.
func (c *Child) ExitCode() int {
	if c.state.Signaled() {
		return 128 + int(c.state.Signal())
	}
	return c.state.ExitStatus()
}

// Terminate sends SIGTERM, then SIGKILL if the child is still running after
// grace, and returns once it has exited.
func (c *Child) Terminate(grace time.Duration) {
	select {
	case <-c.done:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-c.done:
	case <-t.C:
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// LookPath finds a command as the application's own shell would: with the
// PATH of the environment it will run in.
func LookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	pathList := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathList = v
		}
	}
	if pathList == "" {
		pathList = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	for _, dir := range filepath.SplitList(pathList) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("command %q not found in PATH %s", name, pathList)
}
