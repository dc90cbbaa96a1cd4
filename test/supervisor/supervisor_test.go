// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package supervisor

import (
	"context"
	"strings"
	"testing"
	"time"
)

// shell runs script under /bin/sh as a supervised binary.
func shell(script string) *Process {
	return &Process{Name: "sh", Bin: "/bin/sh", Args: []string{"-c", script}, StopTimeout: 5 * time.Second}
}

func TestStartWaitsForReadyAndStopTerminates(t *testing.T) {
	// A trap makes the shell exit 0 on SIGTERM, as the module's binaries do.
	p := shell(`trap 'exit 0' TERM; echo '{"msg":"serving metrics","addr":"127.0.0.1:9"}'; while :; do sleep 0.1; done`)
	p.Ready = func(ctx context.Context, r *Run) error { return r.WaitMetrics(ctx) }
	if err := p.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := p.MetricsAddr(); got != "127.0.0.1:9" {
		t.Errorf("MetricsAddr = %q, want the logged 127.0.0.1:9", got)
	}
	if exited, _ := p.Exited(); exited || p.PID() == 0 {
		t.Errorf("after Start: exited %v, pid %d", exited, p.PID())
	}
	if err := p.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if p.PID() != 0 {
		t.Errorf("pid %d after Stop", p.PID())
	}
	if err := p.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestStopReportsAnUncleanExit(t *testing.T) {
	p := shell(`exec sleep 60`)
	if err := p.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(); err == nil {
		t.Error("Stop accepted a binary killed by SIGTERM")
	}
	p.AnyExit = true
	if err := p.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(); err != nil {
		t.Errorf("Stop with AnyExit: %v", err)
	}
}

func TestStartFailsWithTheLogOfABinaryThatExits(t *testing.T) {
	p := shell(`echo "no such store"; exit 3`)
	p.Ready = func(ctx context.Context, r *Run) error { _, err := r.WaitLog(ctx, "serving"); return err }
	err := p.Start(t.Context())
	if err == nil || !strings.Contains(err.Error(), "no such store") || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("Start = %v, want the exit status and the log line", err)
	}
	if p.PID() != 0 {
		t.Error("a failed start left the process registered")
	}
}

func TestPollGivesUpWhenTheContextEnds(t *testing.T) {
	p := shell(`exec sleep 60`)
	p.AnyExit = true
	if err := p.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	calls := 0
	err := p.Poll(ctx, "never ready", func(context.Context) error { calls++; return context.Canceled })
	if err == nil || !strings.Contains(err.Error(), "never ready") || calls < 2 {
		t.Errorf("Poll = %v after %d checks, want the deadline error after several", err, calls)
	}
}

func TestOutputLinesAreKeptAndCopied(t *testing.T) {
	var out strings.Builder
	p := shell(`printf 'one\ntwo\nthr'; printf 'ee\n'`)
	p.Out = &out
	if err := p.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	for exited := false; !exited; exited, _ = p.Exited() {
		time.Sleep(10 * time.Millisecond)
	}
	_ = p.Kill()
	if got := strings.Join(p.Logs(), ","); got != "one,two,three" {
		t.Errorf("Logs = %q", got)
	}
	if got := p.Tail(2); got != "two\nthree" {
		t.Errorf("Tail(2) = %q", got)
	}
	if out.String() != "sh: one\nsh: two\nsh: three\n" {
		t.Errorf("copy = %q", out.String())
	}
}
