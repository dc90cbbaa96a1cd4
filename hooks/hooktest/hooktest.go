// Package hooktest runs a Go hook the way addon-operator does, for unit
// tests: each object goes through its binding's FilterFunc, the results
// become the snapshots of a binding context, and addon-operator's own
// GoHook.Execute builds the HookInput (patchable values, metrics collector)
// and calls the handler. The value patches the hook returns are applied as
// addon-operator applies them, so a test sees the values the chart would.
package hooktest

import (
	"bytes"
	"context"
	"encoding/base64"
	"testing"

	"github.com/deckhouse/deckhouse/pkg/log"
	"github.com/flant/addon-operator/pkg/module_manager/go_hook"
	"github.com/flant/addon-operator/pkg/module_manager/models/hooks/kind"
	"github.com/flant/addon-operator/pkg/utils"
	bindingcontext "github.com/flant/shell-operator/pkg/hook/binding_context"
	"github.com/flant/shell-operator/pkg/kube_events_manager/types"
	"github.com/flant/shell-operator/pkg/metric_storage/operation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Result is what one run of a hook left behind.
type Result struct {
	// Values after the hook's patches.
	Values utils.Values
	// Metrics the hook set.
	Metrics []operation.MetricOperation
	// Log is the hook's log output (JSON lines).
	Log string
}

// Metric returns the value of the last "set" of name, and whether there was one.
func (r Result) Metric(name string) (float64, bool) {
	for i := len(r.Metrics) - 1; i >= 0; i-- {
		m := r.Metrics[i]
		if m.Name == name && m.Action == "set" && m.Value != nil {
			return *m.Value, true
		}
	}
	return 0, false
}

// Run executes the hook and fails the test if the hook fails.
func Run(t testing.TB, cfg *go_hook.HookConfig, handler kind.ReconcileFunc, valuesYAML string, objects map[string][]*unstructured.Unstructured) Result {
	t.Helper()
	r, err := Execute(t, cfg, handler, valuesYAML, objects)
	if err != nil {
		t.Fatalf("hook failed: %v\nlog:\n%s", err, r.Log)
	}
	return r
}

// Execute runs handler under cfg with values (YAML, as addon-operator holds
// them: config values merged with defaults) and objects keyed by binding name.
// The hook's own error is returned with the log; anything else fails t.
func Execute(t testing.TB, cfg *go_hook.HookConfig, handler kind.ReconcileFunc, valuesYAML string, objects map[string][]*unstructured.Unstructured) (Result, error) {
	t.Helper()
	var values utils.Values
	if err := yaml.Unmarshal([]byte(valuesYAML), &values); err != nil {
		t.Fatalf("parsing test values: %v", err)
	}

	var logs bytes.Buffer
	withLogger := *cfg
	withLogger.Logger = log.NewLogger(log.Options{Output: &logs, Level: log.LevelDebug.Level()})
	hook := kind.NewGoHook(&withLogger, handler)
	// The conversion addon-operator does when it loads the hook: it refuses
	// bindings without a name or a FilterFunc.
	if _, err := hook.GetConfigForModule("module"); err != nil {
		t.Fatalf("hook config is refused by addon-operator: %v", err)
	}

	bc := bindingcontext.BindingContext{Binding: "beforeHelm", Snapshots: map[string][]types.ObjectAndFilterResult{}}
	for binding, objs := range objects {
		filter := filterFor(t, cfg, binding)
		for _, obj := range objs {
			res, err := filter(obj)
			if err != nil {
				t.Fatalf("FilterFunc of binding %q: %v", binding, err)
			}
			bc.Snapshots[binding] = append(bc.Snapshots[binding], types.ObjectAndFilterResult{Object: obj, FilterResult: res})
		}
	}

	res, err := hook.Execute(context.Background(), "", []bindingcontext.BindingContext{bc}, "", utils.Values{}, values, nil)
	if err != nil {
		return Result{Log: logs.String()}, err
	}
	patched, _, err := utils.ApplyValuesPatch(values, *res.Patches[utils.MemoryValuesPatch], utils.Strict)
	if err != nil {
		t.Fatalf("applying the hook's value patches: %v", err)
	}
	return Result{Values: patched, Metrics: res.Metrics, Log: logs.String()}, nil
}

func filterFor(t testing.TB, cfg *go_hook.HookConfig, binding string) go_hook.FilterFunc {
	t.Helper()
	for _, k := range cfg.Kubernetes {
		if k.Name == binding {
			return k.FilterFunc
		}
	}
	t.Fatalf("hook has no Kubernetes binding %q", binding)
	return nil
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
