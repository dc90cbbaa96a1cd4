// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Command is the frame every benchmark command runs in: the flags -out and
// -timeout, Ctrl-C, the report on stdout and in -out, the exit status.
type Command struct {
	name    string
	out     string
	jsonOut string
	timeout time.Duration
	// began and loadBefore are the time and the load average when the
	// measuring began.
	began      time.Time
	loadBefore string
}

// NewCommand registers -out and -timeout (default timeout) on the command
// line of the command name.
func NewCommand(name string, timeout time.Duration) *Command {
	c := &Command{name: name}
	flag.StringVar(&c.out, "out", "", "also write the results as markdown to this file")
	flag.DurationVar(&c.timeout, "timeout", timeout, "bound of the whole benchmark")
	return c
}

// JSON registers -json on the command line, for a command whose results
// also go to the charts as JSON (WriteJSON).
func (c *Command) JSON() {
	flag.StringVar(&c.jsonOut, "json", "", "also write the results as JSON to this file")
}

// WriteJSON writes results as indented JSON to -json; without -json it does
// nothing.
func (c *Command) WriteJSON(results any) error {
	if c.jsonOut == "" {
		return nil
	}
	data, err := json.MarshalIndent(results, "", "  ")
	if err != nil {
		return fmt.Errorf("encode the results: %w", err)
	}
	if err := os.WriteFile(c.jsonOut, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", c.jsonOut, err)
	}
	return nil
}

// RunInfo heads the results a command writes as JSON: which command line,
// when, on how many CPUs and how busy the machine was. Embedded in a
// results struct, its fields are the results' own.
type RunInfo struct {
	Command    string    `json:"command"`
	Began      time.Time `json:"began"`
	CPUs       int       `json:"cpus"`
	LoadBefore string    `json:"load_average_before"`
	LoadAfter  string    `json:"load_average_after"`
}

// Info is the RunInfo of this run, the load average after as it is now.
func (c *Command) Info() RunInfo {
	return RunInfo{Command: strings.Join(append([]string{"go run ./cmd/" + c.name}, os.Args[1:]...), " "),
		Began: c.began, CPUs: runtime.NumCPU(), LoadBefore: c.loadBefore, LoadAfter: LoadAverage()}
}

// Counts registers a flag such as -files 1,10,100: positive numbers, one
// run each.
func Counts(name, value, usage string) *[]int {
	list, err := parseCounts(value)
	if err != nil {
		panic(fmt.Sprintf("default of -%s: %v", name, err))
	}
	flag.Func(name, usage+" (default "+value+")", func(s string) (err error) {
		list, err = parseCounts(s)
		return err
	})
	return &list
}

func parseCounts(s string) ([]int, error) {
	var list []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		list = append(list, n)
	}
	return list, nil
}

// Usage ends a command whose flags do not fit, with exit status 2 as flag
// parsing does.
func Usage(msg string) {
	fmt.Fprintln(os.Stderr, msg)
	os.Exit(2)
}

// Run calls measure under Ctrl-C and -timeout, prints the report it returns
// and writes it to -out, also when measure failed after measuring; a failure
// ends the process with status 1.
func (c *Command) Run(measure func(ctx context.Context) (report string, err error)) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	c.began, c.loadBefore = time.Now().UTC(), LoadAverage()
	report, err := measure(ctx)
	cancel()
	stop()
	if report != "" {
		fmt.Print(report)
		if c.out != "" {
			if werr := os.WriteFile(c.out, []byte(report), 0o644); werr != nil {
				err = fmt.Errorf("write %s: %w (after: %v)", c.out, werr, err)
			}
		}
	}
	if err != nil {
		slog.Error(c.name+" failed", "error", err.Error())
		os.Exit(1)
	}
}

// Header is the report's first line: what was measured, when, on which
// machine and how busy it was.
func (c *Command) Header(what string) string {
	host, _ := os.Hostname()
	return fmt.Sprintf("Benchmark of %s, %s on %s (%d CPUs, %s); load average %s before, %s after.\n\n",
		what, time.Now().UTC().Format("2006-01-02 15:04 UTC"), host, runtime.NumCPU(), runtime.Version(),
		c.loadBefore, LoadAverage())
}

// Step tells progress on stderr.
func Step(msg string) { fmt.Fprintf(os.Stderr, "==> %s\n", msg) }

// LoadAverage is the 1-minute load average, for reports: how busy the
// machine was.
func LoadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	if f := strings.Fields(string(data)); len(f) > 0 {
		return f[0]
	}
	return "unknown"
}
