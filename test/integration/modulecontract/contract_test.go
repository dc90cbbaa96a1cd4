// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package modulecontract checks that what module.yaml, Chart.yaml, openapi/,
// the templates and the hooks each promise about the module agree: its
// name, its namespace, its values key and the values paths the templates
// read. A mismatch would install fine and then silently read nothing (a
// renamed setting) or put objects where Deckhouse does not look.
package modulecontract

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	sdkutils "github.com/deckhouse/module-sdk/pkg/utils"
	"sigs.k8s.io/yaml"

	"github.com/deckhouse/secrets-store-integration/hooks/module"
	"github.com/deckhouse/secrets-store-integration/test/addonop"
	"github.com/deckhouse/secrets-store-integration/test/helmchart"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

func root(t *testing.T) string {
	t.Helper()
	r, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func readYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

func TestNameAndNamespaceAgree(t *testing.T) {
	r := root(t)
	mod := readYAML(t, filepath.Join(r, "module.yaml"))
	chart := readYAML(t, filepath.Join(r, "Chart.yaml"))
	for what, got := range map[string]any{
		"Chart.yaml name":                  chart["name"],
		"hooks/module.Name":                module.Name,
		"test/addonop.ModuleName":          addonop.ModuleName,
		"module.yaml name (the reference)": mod["name"],
	} {
		if got != mod["name"] {
			t.Errorf("%s is %v, module.yaml name is %v", what, got, mod["name"])
		}
	}
	for what, got := range map[string]any{
		"hooks/module.Namespace":         module.Namespace,
		"test/helmchart.ModuleNamespace": helmchart.ModuleNamespace,
	} {
		if got != mod["namespace"] {
			t.Errorf("%s is %v, module.yaml namespace is %v", what, got, mod["namespace"])
		}
	}
	key := sdkutils.ModuleNameToValuesKey(mod["name"].(string))
	for what, got := range map[string]string{"hooks/module.ValuesKey": module.ValuesKey, "test/addonop.ModuleValuesKey": addonop.ModuleValuesKey} {
		if got != key {
			t.Errorf("%s is %q, addon-operator keys module %v as %q", what, got, mod["name"], key)
		}
	}
	helpers, err := os.ReadFile(filepath.Join(r, "templates", "_helpers.tpl"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`dig "` + key + `" dict \.Values\.AsMap`).Match(helpers) {
		t.Errorf("templates/_helpers.tpl ssi.settings does not read .Values.%s", key)
	}

	// Every object the chart renders lives in the module's namespace (or is
	// cluster-scoped), with Deckhouse's labels.
	objs, err := helmchart.Render(map[string]any{}, []string{
		"monitoring.coreos.com/v1/PrometheusRule", "monitoring.coreos.com/v1/PodMonitor",
		"autoscaling.k8s.io/v1/VerticalPodAutoscaler", "deckhouse.io/v1/GrafanaDashboardDefinition",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		id := o.GetKind() + " " + o.GetName()
		if o.GetKind() == "Namespace" && o.GetName() != mod["namespace"] {
			t.Errorf("the chart renders namespace %s, module.yaml says %v", o.GetName(), mod["namespace"])
		}
		if ns := o.GetNamespace(); ns != "" && ns != mod["namespace"] {
			t.Errorf("%s: metadata.namespace %s, module.yaml namespace is %v", id, ns, mod["namespace"])
		}
		if l := o.GetLabels(); l["module"] != mod["name"] || l["heritage"] != "deckhouse" {
			t.Errorf("%s: labels module=%q heritage=%q, want module=%v heritage=deckhouse", id, l["module"], l["heritage"], mod["name"])
		}
	}
}

func TestValuesPathsAgree(t *testing.T) {
	r := root(t)
	settings := properties(t, readYAML(t, filepath.Join(r, "openapi", "config-values.yaml")))
	values := readYAML(t, filepath.Join(r, "openapi", "values.yaml"))
	internal := properties(t, properties(t, values)["internal"].(map[string]any))

	var templates []byte
	files, err := filepath.Glob(filepath.Join(r, "templates", "*", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	top, _ := filepath.Glob(filepath.Join(r, "templates", "*.*"))
	for _, f := range append(files, top...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		templates = append(templates, data...)
	}

	readSettings := matches(templates, `\$s\.([a-zA-Z]+)`)
	for _, s := range readSettings {
		if _, ok := settings[s]; !ok {
			t.Errorf("the templates read setting %q, openapi/config-values.yaml has no such property", s)
		}
	}
	readInternal := matches(templates, `dig "internal" "([a-zA-Z]+)"`)
	for _, s := range readInternal {
		if _, ok := internal[s]; !ok {
			t.Errorf("the templates read internal.%s, openapi/values.yaml has no such property", s)
		}
	}
	for s := range internal {
		if !slices.Contains(readInternal, s) {
			t.Errorf("openapi/values.yaml declares internal.%s, no template reads it", s)
		}
	}
	for s := range settings {
		if !slices.Contains(readSettings, s) {
			t.Errorf("openapi/config-values.yaml declares setting %q, no template reads it", s)
		}
	}
}

func properties(t *testing.T, schema map[string]any) map[string]any {
	t.Helper()
	p, ok := schema["properties"].(map[string]any)
	if !ok {
		t.Fatalf("schema has no properties: %v", schema)
	}
	return p
}

func matches(text []byte, re string) []string {
	var out []string
	for _, m := range regexp.MustCompile(re).FindAllSubmatch(text, -1) {
		if s := string(m[1]); !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
