// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// metricPrefix starts the name of every metric the hooks export.
const metricPrefix = "d8_secrets_store_integration_"

// Every hook metric the dashboards and alert rules in monitoring/ use is one
// a hook exports. The other components' metrics are checked in the images
// module (internal/metricstest); the hooks are a module of their own, which
// the images module may not import. With names this distinctive a scan of
// the files stands in for reading the PromQL.
func TestUsedHookMetricsAreExported(t *testing.T) {
	exported := exportedMetrics(t, ".")
	used := usedMetrics(t, filepath.Join("..", "monitoring"))
	for _, n := range used {
		if !exported[n] {
			t.Errorf("%s is used in monitoring/ but no hook exports it (hooks export %v)", n, exported)
		}
	}
}

// exportedMetrics returns every string constant named metricPrefix* in the
// hooks' Go source under root: the metric names the hooks set.
func exportedMetrics(t *testing.T, root string) map[string]bool {
	t.Helper()
	exported := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		file, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil && strings.HasPrefix(s, metricPrefix) {
					exported[s] = true
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatalf("read the hooks' source: %v", err)
	}
	if len(exported) == 0 {
		t.Fatalf("no %s* metric in the hooks' source under %s", metricPrefix, root)
	}
	return exported
}

var hookMetric = regexp.MustCompile(regexp.QuoteMeta(metricPrefix) + `[a-zA-Z0-9_:]*`)

// usedMetrics returns the sorted metricPrefix* names in the dashboards and
// alert rules under dir (the repository's monitoring/ folder).
func usedMetrics(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"grafana-dashboards/*/*.json", "grafana-dashboards/*.json", "prometheus-rules/*.yaml"} {
		matches, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, matches...)
	}
	seen := map[string]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range hookMetric.FindAllString(string(data), -1) {
			seen[n] = true
		}
	}
	if len(seen) == 0 {
		t.Fatalf("no dashboard or rule among %d files under %s uses a %s* metric", len(files), dir, metricPrefix)
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
