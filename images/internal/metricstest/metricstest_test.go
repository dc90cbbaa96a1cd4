// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package metricstest

import (
	"reflect"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestMetricNames(t *testing.T) {
	cases := []struct {
		expr string
		want []string
	}{
		{`up`, []string{"up"}},
		{`rate(a_total{pod=~"$pod", result="hit"}[$__rate_interval])`, []string{"a_total"}},
		{`sum by (reason) (rate(a_total[5m])) / sum without (pod) (rate(b_total[5m]))`, []string{"a_total", "b_total"}},
		{`histogram_quantile(0.99, sum by (operation, le) (rate(a_seconds_bucket[5m]))) > 5`, []string{"a_seconds_bucket"}},
		{`a > 0 and a - time() < 21 * 24 * 3600`, []string{"a", "a"}},
		{`a unless on (pod) group_left (node) b offset 5m`, []string{"a", "b"}},
		{`max(a) == bool 0 or vector(1)`, []string{"a"}},
		{`label_replace(a, "dst", "$1", "src", "(.*)")`, []string{"a"}},
		{`sum(a{l="}{[by]"}) # comment b`, []string{"a"}},
		{`a[1h:5m] @ end()`, []string{"a"}},
		{`${var} + c:recorded:rate5m + 1e3 + 0x1f + Inf`, []string{"c:recorded:rate5m"}},
	}
	for _, c := range cases {
		t.Run(c.expr, func(t *testing.T) {
			got, err := MetricNames(c.expr)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// Selectors the lexer cannot read are refused rather than skipped, so that
// a metric cannot hide from the cross-check.
func TestMetricNamesRefusesWhatItCannotRead(t *testing.T) {
	for _, expr := range []string{
		`{__name__="a"}`,
		`{"a", pod="x"}`,
		`rate(a{pod="x"[5m])`,
		`a{pod="x}`,
		`a[5m`,
	} {
		if names, err := MetricNames(expr); err == nil {
			t.Errorf("%s: no error, names %q", expr, names)
		}
	}
}

func TestExports(t *testing.T) {
	registered := map[string]bool{"h_seconds": true, "c_total": true}
	cases := []struct {
		name string
		want bool
	}{
		{"h_seconds", true},
		{"h_seconds_bucket", true},
		{"h_seconds_count", true},
		{"h_seconds_sum", true},
		{"c_total", true},
		{"c_total_bucket", true}, // a counter has no buckets, but Desc does not say its type
		{"h_second_bucket", false},
		{"other", false},
	}
	for _, c := range cases {
		if got := Exports(registered, c.name); got != c.want {
			t.Errorf("Exports(%s) = %v, want %v", c.name, got, c.want)
		}
	}
}

// Vectors without label values gather nothing; Registered still names them.
func TestRegisteredSeesEmptyVectors(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "x_total", Help: "x"}, []string{"l"}))
	if got := Registered(reg); !got["x_total"] {
		t.Errorf("Registered = %v, want x_total", got)
	}
}

// Every metric used in monitoring/ has a component that exports it; those
// components' own tests check the names (see Check).
func TestEveryUsedMetricHasAnOwner(t *testing.T) {
	used, err := Used(MonitoringDir(t))
	if err != nil {
		t.Fatal(err)
	}
	owners := map[string]bool{}
	for name, uses := range used {
		owner := Owner(name)
		if owner == "" {
			t.Errorf("%s has no owner among %v; used in %s: %s", name, Owners, uses[0].File, uses[0].Expr)
		}
		owners[owner] = true
	}
	for _, owner := range Owners {
		if !owners[owner] {
			t.Errorf("no dashboard or rule uses a metric of %s", owner)
		}
	}
}
