// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package hooktest runs a module-sdk hook for unit tests the way
// addon-operator runs it: each object goes through its binding's real jq
// filter (module-sdk's jq package), the results are the hook's snapshots
// (module-sdk's testing mocks hand them out), the values are module-sdk's
// own patchable values, and the value patches the hook makes are applied as
// JSON patches, so a test sees the values the chart would.
package hooktest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/deckhouse/deckhouse/pkg/log"
	"github.com/deckhouse/module-sdk/pkg"
	"github.com/deckhouse/module-sdk/pkg/jq"
	patchablevalues "github.com/deckhouse/module-sdk/pkg/patchable-values"
	"github.com/deckhouse/module-sdk/testing/mock"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Values is a values tree, as addon-operator holds it.
type Values map[string]any

// GetKeySection returns the section under key (a module's values key).
func (v Values) GetKeySection(key string) map[string]any {
	s, _ := v[key].(map[string]any)
	return s
}

// YamlString renders the values as YAML, to feed them to the next run.
func (v Values) YamlString() string {
	out, err := yaml.Marshal(map[string]any(v))
	if err != nil {
		return "error: " + err.Error()
	}
	return string(out)
}

// Metric is one metric operation the hook made.
type Metric struct {
	Action string // "set" or "expire"
	Name   string
	Group  string
	Value  float64
}

// Result is what one run of a hook left behind.
type Result struct {
	// Values after the hook's patches.
	Values Values
	// Metrics the hook set or expired, in order.
	Metrics []Metric
	// Log is the hook's log output (JSON lines).
	Log string
}

// Metric returns the value of the last "set" of name, and whether there was one.
func (r Result) Metric(name string) (float64, bool) {
	for i := len(r.Metrics) - 1; i >= 0; i-- {
		m := r.Metrics[i]
		if m.Name == name && m.Action == "set" {
			return m.Value, true
		}
	}
	return 0, false
}

// Run executes the hook and fails the test if the hook fails.
func Run(t testing.TB, cfg *pkg.HookConfig, handler pkg.HookFunc[*pkg.HookInput], valuesYAML string, objects map[string][]*unstructured.Unstructured) Result {
	t.Helper()
	r, err := Execute(t, cfg, handler, valuesYAML, objects)
	if err != nil {
		t.Fatalf("hook failed: %v\nlog:\n%s", err, r.Log)
	}
	return r
}

// Execute runs handler under cfg with values (YAML, as addon-operator holds
// them: config values merged with defaults) and objects keyed by binding
// name. The hook's own error is returned with the log; anything else fails t.
func Execute(t testing.TB, cfg *pkg.HookConfig, handler pkg.HookFunc[*pkg.HookInput], valuesYAML string, objects map[string][]*unstructured.Unstructured) (Result, error) {
	t.Helper()
	var values map[string]any
	if err := yaml.Unmarshal([]byte(valuesYAML), &values); err != nil {
		t.Fatalf("parsing test values: %v", err)
	}
	if values == nil {
		values = map[string]any{}
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("module-sdk refuses the hook config: %v", err)
	}

	pv, err := patchablevalues.NewPatchableValues(values)
	if err != nil {
		t.Fatalf("values: %v", err)
	}
	snapshots := mock.NewSnapshotsMock(t)
	filtered := filterObjects(t, cfg, objects)
	snapshots.GetMock.Optional().Set(func(key string) []pkg.Snapshot { return filtered[key] })

	var metrics []Metric
	collector := mock.NewMetricsCollectorMock(t)
	collector.SetMock.Optional().Set(func(name string, value float64, _ map[string]string, opts ...pkg.MetricCollectorOption) {
		g := &group{}
		for _, o := range opts {
			o.Apply(g)
		}
		metrics = append(metrics, Metric{Action: "set", Name: name, Group: g.name, Value: value})
	})
	collector.ExpireMock.Optional().Set(func(group string) {
		metrics = append(metrics, Metric{Action: "expire", Group: group})
	})

	var logs bytes.Buffer
	input := &pkg.HookInput{
		Snapshots:        snapshots,
		Values:           pv,
		MetricsCollector: collector,
		Logger:           log.NewLogger(log.WithOutput(&logs), log.WithLevel(log.LevelDebug.Level())),
	}
	if err := handler(context.Background(), input); err != nil {
		return Result{Log: logs.String()}, err
	}
	return Result{Values: applyPatches(t, values, pv), Metrics: metrics, Log: logs.String()}, nil
}

type group struct{ name string }

func (g *group) WithGroup(name string) { g.name = name }

// filterObjects runs each binding's jq filter over its objects, as
// addon-operator does before it hands the snapshots to a batch hook.
func filterObjects(t testing.TB, cfg *pkg.HookConfig, objects map[string][]*unstructured.Unstructured) map[string][]pkg.Snapshot {
	t.Helper()
	out := map[string][]pkg.Snapshot{}
	for binding, objs := range objects {
		filter := jqFilterFor(t, cfg, binding)
		q, err := jq.NewQuery(filter)
		if err != nil {
			t.Fatalf("jq filter of binding %q: %v", binding, err)
		}
		for _, obj := range objs {
			res, err := q.FilterObject(context.Background(), obj.Object)
			if err != nil {
				t.Fatalf("jq filter of binding %q on %s/%s: %v", binding, obj.GetNamespace(), obj.GetName(), err)
			}
			out[binding] = append(out[binding], snapshot(t, res.String()))
		}
	}
	return out
}

func snapshot(t testing.TB, filtered string) pkg.Snapshot {
	s := mock.NewSnapshotMock(t)
	s.UnmarshalToMock.Optional().Set(func(v any) error { return json.Unmarshal([]byte(filtered), v) })
	s.StringMock.Optional().Return(filtered)
	return s
}

func jqFilterFor(t testing.TB, cfg *pkg.HookConfig, binding string) string {
	t.Helper()
	for _, k := range cfg.Kubernetes {
		if k.Name == binding {
			if k.JqFilter == "" {
				t.Fatalf("binding %q has no jq filter: a batch hook would get whole objects", binding)
			}
			return k.JqFilter
		}
	}
	t.Fatalf("hook has no Kubernetes binding %q", binding)
	return ""
}

func applyPatches(t testing.TB, values map[string]any, pv *patchablevalues.PatchableValues) Values {
	t.Helper()
	doc, err := json.Marshal(values)
	if err != nil {
		t.Fatalf("values: %v", err)
	}
	for _, op := range pv.GetPatches() {
		p, err := op.ToJSONPatch()
		if err != nil {
			t.Fatalf("value patch %s: %v", op.ToString(), err)
		}
		if doc, err = p.Apply(doc); err != nil {
			t.Fatalf("applying value patch %s: %v", op.ToString(), err)
		}
	}
	var out Values
	if err := json.Unmarshal(doc, &out); err != nil {
		t.Fatalf("patched values: %v", err)
	}
	return out
}

// Secret builds the unstructured Secret an informer would deliver, with data
// base64-encoded as the API serves it.
func Secret(t testing.TB, namespace, name string, data map[string]string) *unstructured.Unstructured {
	t.Helper()
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1",
		"kind":       "Secret",
		"metadata":   map[string]any{"namespace": namespace, "name": name},
	}}
	encoded := map[string]any{}
	for k, v := range data {
		encoded[k] = base64.StdEncoding.EncodeToString([]byte(v))
	}
	if err := unstructured.SetNestedField(obj.Object, encoded, "data"); err != nil {
		t.Fatalf("building Secret: %v", err)
	}
	return obj
}
