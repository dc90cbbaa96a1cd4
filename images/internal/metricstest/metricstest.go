// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package metricstest is test support, imported by tests only: the metrics
// cross-check, which holds the metric names the module's dashboards and
// alert rules use (read from the repository's monitoring/ folder) against
// the names a component registers.
//
// The check is split by owner because each component's metrics live in an
// internal package only that component may import: every component's
// metrics package has a test that calls Check with its own registry and
// prefix, and this package's test makes sure every used name has an owner.
// The hooks are a module of their own (hooks/), which checks its metric
// names in hooks/monitoring_test.go.
package metricstest

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/yaml"
)

// Owners maps a metric name prefix to the component that exports it.
var Owners = map[string]string{
	"secrets_store_csi_":            "csi-driver",
	"secrets_store_vault_provider_": "vault-provider",
	"secrets_store_webhook_":        "webhook",
	"secrets_store_controller_":     "controller",
	"secrets_store_nri_":            "nri-plugin",
	"d8_secrets_store_integration_": "hooks",
}

// Owner returns the component exporting name, or "" if none does.
func Owner(name string) string {
	for prefix, owner := range Owners {
		if strings.HasPrefix(name, prefix) {
			return owner
		}
	}
	return ""
}

// Use is one place a metric name is used: a file and the expression.
type Use struct {
	File string
	Expr string
}

// Used returns the metric names the dashboards and rules under dir (the
// repository's monitoring/ folder) use, each with where it is used.
func Used(dir string) (map[string][]Use, error) {
	used := map[string][]Use{}
	add := func(file, expr string) error {
		names, err := MetricNames(expr)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		for _, n := range names {
			used[n] = append(used[n], Use{File: file, Expr: expr})
		}
		return nil
	}
	dashboards, err := findFiles(filepath.Join(dir, "grafana-dashboards"), ".json")
	if err != nil {
		return nil, err
	}
	rules, err := filepath.Glob(filepath.Join(dir, "prometheus-rules", "*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("list rule files: %w", err)
	}
	if len(dashboards) == 0 || len(rules) == 0 {
		return nil, fmt.Errorf("no dashboards (%d) or rule files (%d) under %s", len(dashboards), len(rules), dir)
	}
	for _, file := range dashboards {
		exprs, err := DashboardExprs(file)
		if err != nil {
			return nil, err
		}
		for _, e := range exprs {
			if err := add(file, e); err != nil {
				return nil, err
			}
		}
	}
	for _, file := range rules {
		exprs, err := RuleExprs(file)
		if err != nil {
			return nil, err
		}
		for _, e := range exprs {
			if err := add(file, e); err != nil {
				return nil, err
			}
		}
	}
	return used, nil
}

func findFiles(root, ext string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ext) {
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s files under %s: %w", ext, root, err)
	}
	return out, nil
}

// labelValues is Grafana's variable query label_values(<selector>, <label>).
var labelValues = regexp.MustCompile(`^\s*label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$`)

// DashboardExprs returns the PromQL of a Grafana dashboard: every "expr"
// (panel targets, at any depth, rows included) and the selectors of
// label_values() variable queries.
func DashboardExprs(file string) ([]string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read dashboard: %w", err)
	}
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse dashboard %s: %w", file, err)
	}
	var exprs []string
	var walk func(v any, key string)
	walk = func(v any, key string) {
		switch v := v.(type) {
		case map[string]any:
			for k, child := range v {
				walk(child, k)
			}
		case []any:
			for _, child := range v {
				walk(child, key)
			}
		case string:
			switch key {
			case "expr":
				exprs = append(exprs, v)
			case "query", "definition":
				if m := labelValues.FindStringSubmatch(v); m != nil {
					exprs = append(exprs, m[1])
				}
			}
		}
	}
	walk(doc, "")
	return exprs, nil
}

// RuleGroup is one group of a Deckhouse rule file, which is a list of
// groups (Deckhouse wraps it in a PrometheusRule).
type RuleGroup struct {
	Name  string `json:"name"`
	Rules []Rule `json:"rules"`
}

// Rule is an alerting or recording rule.
type Rule struct {
	Alert       string            `json:"alert,omitempty"`
	Record      string            `json:"record,omitempty"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// ReadRules parses a rule file.
func ReadRules(file string) ([]RuleGroup, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read rules: %w", err)
	}
	var groups []RuleGroup
	if err := yaml.UnmarshalStrict(data, &groups); err != nil {
		return nil, fmt.Errorf("parse rules %s: %w", file, err)
	}
	return groups, nil
}

// RuleExprs returns the expressions of a rule file.
func RuleExprs(file string) ([]string, error) {
	groups, err := ReadRules(file)
	if err != nil {
		return nil, err
	}
	var exprs []string
	for _, g := range groups {
		for _, r := range g.Rules {
			exprs = append(exprs, r.Expr)
		}
	}
	return exprs, nil
}

// Registered returns the names of the metrics c describes. Descriptions are
// used rather than Gather because a vector with no label values yet gathers
// nothing, though its series appear with the first event.
func Registered(c prometheus.Collector) map[string]bool {
	ch := make(chan *prometheus.Desc)
	go func() {
		c.Describe(ch)
		close(ch)
	}()
	names := map[string]bool{}
	for d := range ch {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			names[m[1]] = true
		}
	}
	return names
}

// fqName finds the name in Desc.String(), which client_golang offers no
// accessor for.
var fqName = regexp.MustCompile(`^Desc\{fqName: "([^"]+)"`)

// Exports says whether a name used in PromQL is one of registered: the
// name itself or a histogram's _bucket, _sum or _count series.
func Exports(registered map[string]bool, name string) bool {
	if registered[name] {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && registered[base] {
			return true
		}
	}
	return false
}

// MonitoringDir is the repository's monitoring/ folder seen from a test in
// a package of the images module: the nearest parent holding it.
func MonitoringDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		candidate := filepath.Join(dir, "monitoring", "prometheus-rules")
		if _, err := os.Stat(candidate); err == nil {
			return filepath.Join(dir, "monitoring")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no monitoring/prometheus-rules folder above the test's directory")
		}
		dir = parent
	}
}

// Check fails t for every name under prefix that the dashboards and rules
// use and c does not register, and when c registers nothing under prefix
// (a wrong prefix would make the check vacuous).
func Check(t *testing.T, c prometheus.Collector, prefix string) {
	t.Helper()
	registered := Registered(c)
	own := 0
	for n := range registered {
		if strings.HasPrefix(n, prefix) {
			own++
		}
	}
	if own == 0 {
		t.Fatalf("the collector registers no metric named %s*", prefix)
	}
	used, names := usedUnder(t, prefix)
	if len(names) == 0 {
		t.Errorf("no dashboard or rule uses a metric named %s*", prefix)
	}
	for _, n := range names {
		if !Exports(registered, n) {
			t.Errorf("%s is used but not exported; used in %s: %s", n, used[n][0].File, used[n][0].Expr)
		}
	}
}

// usedUnder returns where the dashboards and rules use metrics, and the
// sorted names among them that start with prefix.
func usedUnder(t testing.TB, prefix string) (map[string][]Use, []string) {
	t.Helper()
	used, err := Used(MonitoringDir(t))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range used {
		if strings.HasPrefix(n, prefix) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return used, names
}
