// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Command bench-charts draws the benchmark figures as SVG charts from the
// bench commands' own results: the Markdown tables they print and write
// with -out (bench-csi, bench-injector, bench-webhook, bench-controller),
// or the same tables as docs/BENCHMARKS.md records them, and the -json
// results in docs/benchmarks (bench-node, bench-cluster, bench-startup).
//
//	cd test && go run ./cmd/bench-charts                  # from docs/BENCHMARKS.md
//	cd test && go run ./cmd/bench-csi -out /tmp/csi.md && go run ./cmd/bench-charts -in /tmp/csi.md
package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

func main() {
	if err := run(); err != nil {
		slog.Error("bench-charts", "error", err)
		os.Exit(1)
	}
}

func run() error {
	root, err := testenv.RepoRoot()
	if err != nil {
		return err
	}
	in := flag.String("in", filepath.Join(root, "docs", "BENCHMARKS.md"), "comma-separated Markdown files holding the bench commands' result tables")
	dir := flag.String("dir", filepath.Join(root, "docs", "images"), "folder the SVG charts are written to")
	results := flag.String("results", filepath.Join(root, "docs", "benchmarks"), "folder of the bench commands' -json results (node.json, cluster.json, startup.json, cluster-with*-slow-tenant.json)")
	flag.Parse()

	var tables []table
	for _, f := range strings.Split(*in, ",") {
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("read results: %w", err)
		}
		tables = append(tables, parseTables(string(b))...)
	}
	wrote, err := drawResults(*results, *dir)
	for _, f := range wrote {
		fmt.Println("wrote", f)
	}
	if err != nil {
		return err
	}
	drawn := len(wrote)
	for _, c := range charts {
		t, ok := find(tables, c.needs)
		if !ok {
			continue // that bench's results are not in the input
		}
		ch, err := c.build(t)
		if err != nil {
			return fmt.Errorf("%s: %w", c.file, err)
		}
		out := filepath.Join(*dir, c.file)
		if err := ch.save(out); err != nil {
			return fmt.Errorf("draw %s: %w", out, err)
		}
		fmt.Println("wrote", out)
		drawn++
	}
	if drawn == 0 {
		return errors.New("no bench result table found in " + *in)
	}
	return nil
}

// table is one Markdown table: its header cells and its rows.
type table struct {
	header []string
	rows   [][]string
}

func (t table) col(name string) int {
	for i, h := range t.header {
		if h == name {
			return i
		}
	}
	return -1
}

func cells(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimPrefix(strings.TrimSuffix(line, "|"), "|")
	parts := strings.Split(line, "|")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

func parseTables(md string) []table {
	lines := strings.Split(md, "\n")
	var out []table
	for i := 0; i+1 < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "|") || !strings.HasPrefix(strings.TrimSpace(lines[i+1]), "| ---") && !strings.HasPrefix(strings.TrimSpace(lines[i+1]), "| :--") {
			continue
		}
		t := table{header: cells(lines[i])}
		j := i + 2
		for ; j < len(lines) && strings.HasPrefix(lines[j], "|"); j++ {
			t.rows = append(t.rows, cells(lines[j]))
		}
		out = append(out, t)
		i = j
	}
	return out
}

// find is the first table that has every column of needs (a column given
// as "a|b" may have either name).
func find(tables []table, needs []string) (table, bool) {
next:
	for _, t := range tables {
		for _, n := range needs {
			ok := false
			for _, alt := range strings.Split(n, "|") {
				if t.col(alt) >= 0 {
					ok = true
				}
			}
			if !ok {
				continue next
			}
		}
		return t, true
	}
	return table{}, false
}

// number reads a figure of a cell: "12.5", "12.5 / 30.1" (part picks the
// side), "400 (0)".
func number(cell string, part int) (float64, error) {
	sides := strings.Split(cell, "/")
	if part >= len(sides) {
		return 0, fmt.Errorf("cell %q has no part %d", cell, part)
	}
	f := strings.Fields(sides[part])
	if len(f) == 0 {
		return 0, fmt.Errorf("empty cell")
	}
	return strconv.ParseFloat(f[0], 64)
}
