// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package monitoring

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deckhouse/secrets-store-integration/test/helmchart"
	"sigs.k8s.io/yaml"
)

// renderMonitoring renders the chart with apis added to the cluster's
// capabilities and returns what templates/monitoring.yaml made.
func renderMonitoring(t *testing.T, apis ...string) []map[string]any {
	t.Helper()
	out, err := helmchart.RenderSources(map[string]any{}, apis)
	if err != nil {
		t.Fatal(err)
	}
	var objs []map[string]any
	for _, r := range out {
		if r.Source == "templates/monitoring.yaml" {
			objs = append(objs, r.Obj.Object)
		}
	}
	return objs
}

func TestChartShipsRulesAndDashboards(t *testing.T) {
	rules, _ := filepath.Glob(filepath.Join(rulesDir, "*.yaml"))
	dashboards, _ := filepath.Glob(filepath.Join(dashboardsDir, "*", "*.json"))
	const (
		prometheusRule = "monitoring.coreos.com/v1/PrometheusRule"
		dashboardDef   = "deckhouse.io/v1/GrafanaDashboardDefinition"
	)
	cases := []struct {
		name string
		apis []string
		want map[string]int // kind: count
	}{
		{"no monitoring CRDs", nil, map[string]int{}},
		{"Prometheus Operator only", []string{"monitoring.coreos.com/v1", prometheusRule},
			map[string]int{"PrometheusRule": len(rules), "ConfigMap": len(dashboards)}},
		{"Deckhouse", []string{"monitoring.coreos.com/v1", prometheusRule, "deckhouse.io/v1", dashboardDef},
			map[string]int{"PrometheusRule": len(rules), "GrafanaDashboardDefinition": len(dashboards)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := map[string]int{}
			for _, obj := range renderMonitoring(t, c.apis...) {
				kind, _ := obj["kind"].(string)
				got[kind]++
				checkShipped(t, obj)
			}
			if len(got) != len(c.want) {
				t.Errorf("rendered %v, want %v", got, c.want)
			}
			for kind, n := range c.want {
				if got[kind] != n {
					t.Errorf("rendered %v, want %v", got, c.want)
				}
			}
		})
	}
}

// checkShipped compares the content of a rendered object with its file.
func checkShipped(t *testing.T, obj map[string]any) {
	t.Helper()
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	spec, _ := obj["spec"].(map[string]any)
	switch obj["kind"] {
	case "PrometheusRule":
		file := filepath.Join(rulesDir, strings.TrimPrefix(name, "secrets-store-integration-")+".yaml")
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var groups any
		if err := yaml.Unmarshal(data, &groups); err != nil {
			t.Fatal(err)
		}
		got, want := string(mustMarshal(t, spec["groups"])), string(mustMarshal(t, groups))
		if got != want {
			t.Errorf("%s: groups differ from %s: %s", name, file, firstDifference(got, want))
		}
	case "GrafanaDashboardDefinition":
		definition, _ := spec["definition"].(string)
		sameDashboard(t, name, definition)
		if spec["folder"] != "Secrets Store Integration" {
			t.Errorf("%s: folder %v", name, spec["folder"])
		}
	case "ConfigMap":
		data, _ := obj["data"].(map[string]any)
		for _, v := range data {
			s, _ := v.(string)
			sameDashboard(t, strings.TrimSuffix(name, "-dashboard"), s)
		}
	}
}

func sameDashboard(t *testing.T, name, rendered string) {
	t.Helper()
	file := filepath.Join(dashboardsDir, "secrets-store-integration", strings.TrimPrefix(name, "secrets-store-integration-")+".json")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if strings.TrimSpace(rendered) != strings.TrimSpace(string(data)) {
		t.Errorf("%s: definition differs from %s", name, file)
	}
}

// firstDifference shows the first line where got and want differ.
func firstDifference(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) && i < len(w); i++ {
		if g[i] != w[i] {
			return fmt.Sprintf("line %d: got %q, want %q", i+1, g[i], w[i])
		}
	}
	return fmt.Sprintf("got %d lines, want %d", len(g), len(w))
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	out, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
