// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package monitoring tests the module's Grafana dashboards and Prometheus
// rules with promtool (Debian's prometheus package): the rules are valid and
// their unit tests in monitoring/tests pass, every dashboard query is valid
// PromQL, and the dashboards are well-formed. That the metrics they use are
// exported is checked in the images module (internal/metricstest), where
// the components' metrics can be constructed, and in the hooks module
// (hooks/monitoring_test.go).
package monitoring

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

var (
	monitoringDir = filepath.Join("..", "..", "..", "monitoring")
	rulesDir      = filepath.Join(monitoringDir, "prometheus-rules")
	testsDir      = filepath.Join(monitoringDir, "tests")
	dashboardsDir = filepath.Join(monitoringDir, "grafana-dashboards")
)

// promtool returns the promtool binary. A missing promtool fails the test
// rather than skipping it: the rule tests are part of the suite (.ci/run
// installs it).
func promtool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool not found (apt-get install --no-install-recommends prometheus): %v", err)
	}
	return path
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// ruleGroup is a group of a Deckhouse rule file: a list of these, without
// the "groups:" key Prometheus expects (Deckhouse wraps it).
type ruleGroup struct {
	Name  string `json:"name"`
	Rules []rule `json:"rules"`
}

type rule struct {
	Alert       string            `json:"alert,omitempty"`
	Record      string            `json:"record,omitempty"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

func ruleFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(rulesDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no rule files in %s (%v)", rulesDir, err)
	}
	return files
}

func readRules(t *testing.T, file string) []ruleGroup {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var groups []ruleGroup
	if err := yaml.UnmarshalStrict(data, &groups); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return groups
}

// writeWrapped writes groups as a Prometheus rule file to dir/name.
func writeWrapped(t *testing.T, dir, name string, groups []ruleGroup) string {
	t.Helper()
	data, err := yaml.Marshal(map[string]any{"groups": groups})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// The rule files are valid for Prometheus and their unit tests pass. The
// tests name their rule files as ../prometheus-rules/<file>, so the same
// layout is rebuilt in a temporary folder with the files wrapped.
func TestRulesWithPromtool(t *testing.T) {
	bin := promtool(t)
	dir := t.TempDir()
	for _, sub := range []string{"prometheus-rules", "tests"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var wrapped []string
	for _, file := range ruleFiles(t) {
		wrapped = append(wrapped, writeWrapped(t, filepath.Join(dir, "prometheus-rules"), filepath.Base(file), readRules(t, file)))
	}
	run(t, bin, append([]string{"check", "rules"}, wrapped...)...)

	tests, err := filepath.Glob(filepath.Join(testsDir, "*.yaml"))
	if err != nil || len(tests) == 0 {
		t.Fatalf("no rule tests in %s (%v)", testsDir, err)
	}
	var copied []string
	for _, file := range tests {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, "tests", filepath.Base(file))
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
		copied = append(copied, dst)
	}
	t.Log(run(t, bin, append([]string{"test", "rules"}, copied...)...))
}

// ruleTests is the part of a promtool test file this test reads.
type ruleTests struct {
	RuleFiles []string `json:"rule_files"`
	Tests     []struct {
		AlertRuleTest []struct {
			Alertname string            `json:"alertname"`
			ExpAlerts []json.RawMessage `json:"exp_alerts"`
		} `json:"alert_rule_test"`
	} `json:"tests"`
}

// Every alert follows Deckhouse's conventions and has promtool tests both
// for when it fires and for when it stays quiet.
func TestEveryAlertIsConventionalAndTested(t *testing.T) {
	fires, quiet := map[string]bool{}, map[string]bool{}
	tests, _ := filepath.Glob(filepath.Join(testsDir, "*.yaml"))
	for _, file := range tests {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var rt ruleTests
		if err := yaml.Unmarshal(data, &rt); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, tc := range rt.Tests {
			for _, a := range tc.AlertRuleTest {
				if len(a.ExpAlerts) > 0 {
					fires[a.Alertname] = true
				} else {
					quiet[a.Alertname] = true
				}
			}
		}
	}

	severity := regexp.MustCompile(`^[1-9]$`)
	seen := map[string]string{}
	for _, file := range ruleFiles(t) {
		for _, g := range readRules(t, file) {
			if !strings.HasPrefix(g.Name, "secrets-store-integration.") {
				t.Errorf("%s: group %q: want a secrets-store-integration.* name", file, g.Name)
			}
			for _, r := range g.Rules {
				if r.Alert == "" {
					continue
				}
				if other, ok := seen[r.Alert]; ok {
					t.Errorf("%s: alert %s also in %s", file, r.Alert, other)
				}
				seen[r.Alert] = file
				for _, problem := range alertProblems(r, severity) {
					t.Errorf("%s: alert %s: %s", file, r.Alert, problem)
				}
				if !fires[r.Alert] {
					t.Errorf("alert %s: no promtool test where it fires", r.Alert)
				}
				if !quiet[r.Alert] {
					t.Errorf("alert %s: no promtool test where it stays quiet", r.Alert)
				}
			}
		}
	}
	if len(seen) == 0 {
		t.Fatal("no alerts")
	}
	for name := range fires {
		if seen[name] == "" {
			t.Errorf("tests expect alert %s, which no rule file defines", name)
		}
	}
}

func alertProblems(r rule, severity *regexp.Regexp) []string {
	var p []string
	if r.For == "" {
		p = append(p, "no for:")
	}
	if !severity.MatchString(r.Labels["severity_level"]) {
		p = append(p, fmt.Sprintf("severity_level %q, want 1-9", r.Labels["severity_level"]))
	}
	for _, a := range []string{"summary", "description", "plk_protocol_version"} {
		if strings.TrimSpace(r.Annotations[a]) == "" {
			p = append(p, "no "+a+" annotation")
		}
	}
	return p
}

var recordSafe = regexp.MustCompile(`[^a-zA-Z0-9_]`)

// grafanaVars are replaced in dashboard queries before promtool checks them.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h", `"$pod"`, `".*"`)

type dashboard struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int             `json:"id"`
	Type       string          `json:"type"`
	Title      string          `json:"title"`
	Datasource json.RawMessage `json:"datasource"`
	Targets    []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

// The dashboards are Grafana JSON with unique uids and panel ids, take
// their datasource from the ds_prometheus variable Deckhouse provides, and
// every query is valid PromQL (checked by promtool as recording rules).
func TestDashboards(t *testing.T) {
	bin := promtool(t)
	var files []string
	err := filepath.WalkDir(dashboardsDir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".json") {
			files = append(files, path)
		}
		return err
	})
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards in %s (%v)", dashboardsDir, err)
	}
	uids := map[string]string{}
	var records []rule
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var d dashboard
		if err := json.Unmarshal(data, &d); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if d.UID == "" || d.Title == "" {
			t.Errorf("%s: no uid or title", file)
		}
		if other, ok := uids[d.UID]; ok {
			t.Errorf("%s: uid %s also in %s", file, d.UID, other)
		}
		uids[d.UID] = file
		hasDS := false
		for _, v := range d.Templating.List {
			hasDS = hasDS || v.Name == "ds_prometheus" && v.Type == "datasource"
		}
		if !hasDS {
			t.Errorf("%s: no ds_prometheus datasource variable", file)
		}
		ids := map[int]bool{}
		var walk func([]panel)
		walk = func(panels []panel) {
			for _, p := range panels {
				if p.ID == 0 || ids[p.ID] {
					t.Errorf("%s: panel %q: id %d missing or repeated", file, p.Title, p.ID)
				}
				ids[p.ID] = true
				if p.Type != "row" {
					if !bytes.Contains(p.Datasource, []byte("${ds_prometheus}")) {
						t.Errorf("%s: panel %q: datasource %s, want ${ds_prometheus}", file, p.Title, p.Datasource)
					}
					if len(p.Targets) == 0 {
						t.Errorf("%s: panel %q: no queries", file, p.Title)
					}
				}
				for i, target := range p.Targets {
					// The record's name says where a query that fails comes from.
					records = append(records, rule{
						Record: fmt.Sprintf("dashboard:%s:panel%d_%d", recordSafe.ReplaceAllString(filepath.Base(file), "_"), p.ID, i),
						Expr:   grafanaVars.Replace(target.Expr),
					})
				}
				walk(p.Panels)
			}
		}
		walk(d.Panels)
	}
	path := writeWrapped(t, t.TempDir(), "dashboards.yaml", []ruleGroup{{Name: "dashboards", Rules: records}})
	run(t, bin, "check", "rules", path)
}
