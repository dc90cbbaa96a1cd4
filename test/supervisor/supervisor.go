// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package supervisor runs the binaries the tests need (the test servers of
// testenv, the module's own binaries, the upstream CSI driver, addon-operator)
// as child processes: each in its own process group, killed with the test
// binary if that dies first, its output kept line by line for the test to
// read, and started and stopped the way kubelet starts and stops a container.
package supervisor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/deckhouse/secrets-store-integration/test/scrape"
)

const (
	// startTimeout bounds the wait for a started binary to serve.
	startTimeout = time.Minute
	// defaultStopTimeout is how long a binary gets to exit after SIGTERM
	// before SIGKILL; the provider itself gives running mounts 20s.
	defaultStopTimeout = 30 * time.Second
	// pollInterval is the pause between two readiness checks.
	pollInterval = 100 * time.Millisecond
	// tailLines is how many of its last log lines an error about a run shows.
	tailLines = 20
)

// Process is one binary run as its container would run. Set the exported
// fields, then Start; Start, Stop and Restart may be called any number of
// times, and the flags stay.
type Process struct {
	// Name is the binary's name, prefixed to its copied log lines.
	Name string
	// Socket is the unix socket the binary serves, if any.
	Socket string
	// Bin and Args are the command line.
	Bin  string
	Args []string
	// Env replaces the inherited environment when set.
	Env []string
	// Dir is the working directory; empty: the test's.
	Dir string
	// Out receives a copy of each log line, prefixed with Name; nil drops it.
	Out io.Writer
	// Ready returns once run r serves, or with why it does not; nil: a
	// started binary is ready.
	Ready func(ctx context.Context, r *Run) error
	// StopTimeout is how long Stop waits after SIGTERM; zero: 30s.
	StopTimeout time.Duration
	// AnyExit makes Stop accept a non-zero exit after SIGTERM, for binaries
	// that report a signal as a failure.
	AnyExit bool

	logs logLines

	mu          sync.Mutex
	run         *Run
	metricsAddr string
}

// Run is one start of the binary.
type Run struct {
	p    *Process
	cmd  *exec.Cmd
	done chan struct{}
	err  error // the exit status, set before done is closed
	// firstLine is the index of the run's first log line.
	firstLine int
}

// Start runs the binary and returns once it is ready. A binary that exits or
// is not ready within a minute is an error, and is stopped.
func (p *Process) Start(ctx context.Context) error {
	p.mu.Lock()
	if p.run != nil {
		p.mu.Unlock()
		return fmt.Errorf("start %s: already running", p.Name)
	}
	cmd := exec.Command(p.Bin, p.Args...)
	cmd.Env = p.Env
	cmd.Dir = p.Dir
	// Own process group: a Ctrl-C of the test run reaches the harness, which
	// stops the binary with SIGTERM as kubelet would. Pdeathsig: a killed
	// test run leaves no binary behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	w := &lineWriter{p: p}
	// One writer for both streams: exec then copies them in one goroutine.
	cmd.Stdout, cmd.Stderr = w, w
	r := &Run{p: p, cmd: cmd, done: make(chan struct{}), firstLine: p.logs.len()}
	if err := cmd.Start(); err != nil {
		p.mu.Unlock()
		return fmt.Errorf("start %s (%s): %w", p.Name, p.Bin, err)
	}
	p.run = r
	p.mu.Unlock()
	go func() {
		r.err = cmd.Wait()
		close(r.done)
	}()

	if p.Ready == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	if err := p.Ready(ctx, r); err != nil {
		_ = p.Kill()
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	return nil
}

// Stop sends SIGTERM to the binary's process group, as kubelet stops a
// container, and waits for the exit. A binary that does not exit cleanly (or
// crashed before) is an error unless AnyExit is set. Stopping a stopped
// process does nothing.
func (p *Process) Stop() error {
	r := p.take()
	if r == nil {
		return nil
	}
	grace := p.StopTimeout
	if grace == 0 {
		grace = defaultStopTimeout
	}
	r.signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(grace):
		r.signal(syscall.SIGKILL)
		<-r.done
		return fmt.Errorf("%s did not stop within %s of SIGTERM", p.Name, grace)
	}
	if r.err != nil && !p.AnyExit {
		return fmt.Errorf("%s exit after SIGTERM: %w", p.Name, r.err)
	}
	return nil
}

// Kill ends the binary's process group with SIGKILL and waits for it: for
// a start that failed, where a clean stop proves nothing.
func (p *Process) Kill() error {
	r := p.take()
	if r == nil {
		return nil
	}
	r.signal(syscall.SIGKILL)
	<-r.done
	return nil
}

// take detaches the current run, nil when stopped.
func (p *Process) take() *Run {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.run
	p.run = nil
	return r
}

// signal sends sig to the run's process group: what the binary started
// (addon-operator's hooks, for one) goes with it, as in a container.
func (r *Run) signal(sig syscall.Signal) {
	_ = syscall.Kill(-r.cmd.Process.Pid, sig)
}

// Restart stops the binary and starts it again with the same flags.
func (p *Process) Restart(ctx context.Context) error {
	if err := p.Stop(); err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	return p.Start(ctx)
}

// Exited reports whether the current run has ended, with its exit status;
// a stopped process has ended.
func (p *Process) Exited() (bool, error) {
	p.mu.Lock()
	r := p.run
	p.mu.Unlock()
	if r == nil {
		return true, nil
	}
	select {
	case <-r.done:
		return true, r.err
	default:
		return false, nil
	}
}

// PID is the running binary's process id, 0 when stopped.
func (p *Process) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.run == nil {
		return 0
	}
	return p.run.cmd.Process.Pid
}

// RSS is the running binary's resident set size in bytes.
func (p *Process) RSS() (int64, error) {
	pid := p.PID()
	if pid == 0 {
		return 0, fmt.Errorf("rss of %s: not running", p.Name)
	}
	return RSS(pid)
}

// SetMetricsAddr names the host:port of the binary's metrics server, for
// binaries told where to listen.
func (p *Process) SetMetricsAddr(addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.metricsAddr = addr
}

// MetricsAddr is the host:port of the binary's /metrics and /healthz; it
// may change with a restart.
func (p *Process) MetricsAddr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.metricsAddr
}

// Get fetches path from the binary's metrics server and returns the body;
// any status but 200 is an error.
func (p *Process) Get(ctx context.Context, path string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	url := "http://" + p.MetricsAddr() + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", fmt.Errorf("get %s of %s: %w", url, p.Name, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("get %s of %s: %w", url, p.Name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("get %s of %s: read body: %w", url, p.Name, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("get %s of %s: %s", url, p.Name, resp.Status)
	}
	return string(body), nil
}

// Scrape reads the binary's /metrics.
func (p *Process) Scrape(ctx context.Context) (scrape.Metrics, error) {
	body, err := p.Get(ctx, "/metrics")
	if err != nil {
		return nil, err
	}
	m, err := scrape.Parse(body)
	if err != nil {
		return nil, fmt.Errorf("metrics of %s: %w", p.Name, err)
	}
	return m, nil
}

// Logs returns every line the binary wrote, over all its runs, so tests can
// check what it reveals.
func (p *Process) Logs() []string { return p.logs.all() }

// Tail is the last n lines the binary wrote, for a failure message.
func (p *Process) Tail(n int) string {
	lines := p.logs.all()
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// LogEntry is what the harness reads of the binaries' JSON log lines.
type LogEntry struct {
	Msg  string `json:"msg"`
	Addr string `json:"addr"`
}

// WaitLog returns the first JSON log entry of the run with message msg.
func (r *Run) WaitLog(ctx context.Context, msg string) (LogEntry, error) {
	next := r.firstLine
	for {
		lines, changed := r.p.logs.from(next)
		for _, line := range lines {
			next++
			var e LogEntry
			if json.Unmarshal([]byte(line), &e) == nil && e.Msg == msg {
				return e, nil
			}
		}
		select {
		case <-changed:
		case <-r.done:
			return LogEntry{}, r.exitError()
		case <-ctx.Done():
			return LogEntry{}, fmt.Errorf("no %q in its log: %w", msg, ctx.Err())
		}
	}
}

// WaitMetrics waits for the "serving metrics" line of the run and takes the
// address it bound (the binaries listen on port 0 in tests).
func (r *Run) WaitMetrics(ctx context.Context) error {
	metrics, err := r.WaitLog(ctx, "serving metrics")
	if err != nil {
		return err
	}
	r.p.SetMetricsAddr(metrics.Addr)
	return nil
}

// Poll calls check, each call bounded to 2s, until it returns nil, the run
// exits, or ctx ends; the error then says why, with the run's last lines.
func (r *Run) Poll(ctx context.Context, what string, check func(context.Context) error) error {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		attempt, cancel := context.WithTimeout(ctx, 2*time.Second)
		last := check(attempt)
		cancel()
		if last == nil {
			return nil
		}
		select {
		case <-tick.C:
		case <-r.done:
			return r.exitError()
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (last check: %v); last log lines:\n%s", what, ctx.Err(), last, r.tail())
		}
	}
}

// Poll is Run.Poll on the current run, for checks made after Start.
func (p *Process) Poll(ctx context.Context, what string, check func(context.Context) error) error {
	p.mu.Lock()
	r := p.run
	p.mu.Unlock()
	if r == nil {
		return fmt.Errorf("%s: %s is not running", what, p.Name)
	}
	return r.Poll(ctx, what, check)
}

// WaitHTTP polls path of the binary's metrics server until it answers 200.
func (r *Run) WaitHTTP(ctx context.Context, path string) error {
	return r.Poll(ctx, path+" never answered 200", func(ctx context.Context) error {
		_, err := r.p.Get(ctx, path)
		return err
	})
}

// exitError says that the run ended, with its last log lines to show why.
func (r *Run) exitError() error {
	status := "exit 0"
	if r.err != nil {
		status = r.err.Error()
	}
	return fmt.Errorf("%s exited (%s); last log lines:\n%s", r.p.Name, status, r.tail())
}

func (r *Run) tail() string {
	lines := r.p.logs.from0(r.firstLine)
	return strings.Join(lines[max(0, len(lines)-tailLines):], "\n")
}

// logLines keeps a binary's log and wakes those waiting for a new line.
type logLines struct {
	mu      sync.Mutex
	lines   []string
	changed chan struct{}
}

func (l *logLines) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
}

func (l *logLines) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lines)
}

func (l *logLines) all() []string { return l.from0(0) }

func (l *logLines) from0(i int) []string {
	lines, _ := l.from(i)
	return lines
}

// from returns the lines from index i on, and a channel closed at the next
// added line.
func (l *logLines) from(i int) ([]string, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.changed == nil {
		l.changed = make(chan struct{})
	}
	return append([]string(nil), l.lines[min(i, len(l.lines)):]...), l.changed
}

// lineWriter splits a run's output into lines for the log and the copy.
type lineWriter struct {
	p       *Process
	partial []byte
}

func (w *lineWriter) Write(b []byte) (int, error) {
	w.partial = append(w.partial, b...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		line := string(w.partial[:i])
		w.partial = w.partial[i+1:]
		w.p.logs.add(line)
		if w.p.Out != nil {
			// A broken copy must not stop the binary: its output goes on.
			_, _ = fmt.Fprintf(w.p.Out, "%s: %s\n", w.p.Name, line)
		}
	}
	return len(b), nil
}
