package components

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	// startTimeout bounds the wait for a started binary to serve.
	startTimeout = time.Minute
	// stopTimeout is how long a binary gets to exit after SIGTERM before
	// SIGKILL; the provider itself gives running mounts 20s.
	stopTimeout = 30 * time.Second
)

// Process is one binary running as its DaemonSet container would. Start,
// Stop and Restart may be called any number of times; the flags stay.
type Process struct {
	// Name is the binary's name, prefixed to its copied log lines.
	Name string
	// Socket is the unix socket the binary serves.
	Socket string

	bin  string
	args []string
	// env replaces the inherited environment when set.
	env []string
	out io.Writer
	// ready returns once the run serves, or with why it does not.
	ready func(ctx context.Context, r *run) error
	logs  logLines

	mu          sync.Mutex
	run         *run
	metricsAddr string
}

// run is one start of the binary.
type run struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // the exit status, set before done is closed
	// firstLine is the index of the run's first log line.
	firstLine int
}

// Start runs the binary and returns once it serves. A binary that exits or
// does not serve within a minute is an error, and is stopped.
func (p *Process) Start(ctx context.Context) error {
	p.mu.Lock()
	if p.run != nil {
		p.mu.Unlock()
		return fmt.Errorf("start %s: already running", p.Name)
	}
	cmd := exec.Command(p.bin, p.args...)
	if p.env != nil {
		cmd.Env = p.env
	}
	// Own process group: a Ctrl-C of the test run reaches the harness, which
	// stops the binary with SIGTERM as kubelet would. Pdeathsig: a killed
	// test run leaves no binary behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	w := &lineWriter{p: p}
	// One writer for both streams: exec then copies them in one goroutine.
	cmd.Stdout, cmd.Stderr = w, w
	r := &run{cmd: cmd, done: make(chan struct{}), firstLine: p.logs.len()}
	if err := cmd.Start(); err != nil {
		p.mu.Unlock()
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	p.run = r
	p.mu.Unlock()
	go func() {
		r.err = cmd.Wait()
		close(r.done)
	}()

	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	if err := p.ready(ctx, r); err != nil {
		_ = p.Stop()
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	return nil
}

// Stop sends SIGTERM, as kubelet stops a container, and waits for the exit.
// A binary that does not exit cleanly (or crashed before) is an error.
// Stopping a stopped process does nothing.
func (p *Process) Stop() error {
	p.mu.Lock()
	r := p.run
	p.run = nil
	p.mu.Unlock()
	if r == nil {
		return nil
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(stopTimeout):
		_ = r.cmd.Process.Kill()
		<-r.done
		return fmt.Errorf("%s did not stop within %s of SIGTERM", p.Name, stopTimeout)
	}
	if r.err != nil {
		return fmt.Errorf("%s exit after SIGTERM: %w", p.Name, r.err)
	}
	return nil
}

// Restart stops the binary and starts it again with the same flags.
func (p *Process) Restart(ctx context.Context) error {
	if err := p.Stop(); err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	return p.Start(ctx)
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
func (p *Process) Scrape(ctx context.Context) (Metrics, error) {
	body, err := p.Get(ctx, "/metrics")
	if err != nil {
		return nil, err
	}
	m, err := ParseMetrics(body)
	if err != nil {
		return nil, fmt.Errorf("metrics of %s: %w", p.Name, err)
	}
	return m, nil
}

// Logs returns every line the binary wrote, over all its runs, so tests can
// check what it reveals.
func (p *Process) Logs() []string { return p.logs.all() }

// logEntry is what the harness reads of the binaries' JSON log lines.
type logEntry struct {
	Msg  string `json:"msg"`
	Addr string `json:"addr"`
}

// waitLog returns the first log entry of run r with message msg.
func (p *Process) waitLog(ctx context.Context, r *run, msg string) (logEntry, error) {
	next := r.firstLine
	for {
		lines, changed := p.logs.from(next)
		for _, line := range lines {
			next++
			var e logEntry
			if json.Unmarshal([]byte(line), &e) == nil && e.Msg == msg {
				return e, nil
			}
		}
		select {
		case <-changed:
		case <-r.done:
			return logEntry{}, p.exitError(r)
		case <-ctx.Done():
			return logEntry{}, fmt.Errorf("no %q in its log: %w", msg, ctx.Err())
		}
	}
}

// waitMetrics waits for the "serving metrics" line of run r and takes the
// address it bound (the binaries listen on port 0 in tests).
func (p *Process) waitMetrics(ctx context.Context, r *run) error {
	metrics, err := p.waitLog(ctx, r, "serving metrics")
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.metricsAddr = metrics.Addr
	p.mu.Unlock()
	return nil
}

// exitError says that run r ended, with its last log lines to show why.
func (p *Process) exitError(r *run) error {
	lines := p.logs.from0(r.firstLine)
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	status := "exit 0"
	if r.err != nil {
		status = r.err.Error()
	}
	return fmt.Errorf("exited (%s); last log lines:\n%s", status, strings.Join(lines, "\n"))
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
		if w.p.out != nil {
			// A broken copy must not stop the binary: its output goes on.
			_, _ = fmt.Fprintf(w.p.out, "%s: %s\n", w.p.Name, line)
		}
	}
	return len(b), nil
}

var errNotServing = errors.New("not serving yet")
