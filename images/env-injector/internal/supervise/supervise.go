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
	state *os.ProcessState
	stop  func()
}

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

	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, forwarded...)
	if err := cmd.Start(); err != nil {
		signal.Stop(sigs)
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	c := &Child{cmd: cmd, done: make(chan struct{})}
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
	go func() {
		_ = cmd.Wait()
		c.state = cmd.ProcessState
		c.stop()
		close(c.done)
	}()
	return c, nil
}

// PID is the child's process id.
func (c *Child) PID() int { return c.cmd.Process.Pid }

// Done is closed when the child has exited.
func (c *Child) Done() <-chan struct{} { return c.done }

// ExitCode is the child's exit status as a shell reports it: the code, or
// 128 plus the signal that killed it. Valid after Done.
func (c *Child) ExitCode() int {
	if ws, ok := c.state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return c.state.ExitCode()
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
