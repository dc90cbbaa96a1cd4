// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"reflect"
	"testing"
)

// The two forms of a result table: as bench-webhook prints it (-out) and
// as docs/BENCHMARKS.md condenses it.
const outForm = `
| pods | concurrent | create p50 ms | p99 ms | max ms | pods/s | API server call mean ms | webhook reviews | review mean ms | registry lookups | lookup mean ms | cache hits | errors |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| plain | 1 | 4.8 | 10.0 | 12.0 | 190 | – | 0 | – | 0 | – | 0 | 0 |
| image, uncached | 50 | 443.3 | 609.3 | 700.0 | 90 | 227.6 | 200 | 187.8 | 200 | 184.9 | 0 | 0 |
`

const docsForm = `
Some text | not a table.

| pods | concurrent | create p50 / p99 ms | API server's call to the webhook, mean ms |
| --- | --- | --- | --- |
| plain | 1 | 4.8 / 10.0 | – |
| image, uncached | 50 | 443.3 / 609.3 | 227.6 |
`

func TestWebhookChartFromBothForms(t *testing.T) {
	want := []series{{"p50", []float64{4.8, 443.3}}, {"p99", []float64{10, 609.3}}}
	for name, md := range map[string]string{"-out": outForm, "BENCHMARKS.md": docsForm} {
		tables := parseTables(md)
		tb, ok := find(tables, charts[2].needs)
		if !ok {
			t.Fatalf("%s: no webhook table among %d tables", name, len(tables))
		}
		c, err := webhookChart(tb)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(c.series, want) {
			t.Errorf("%s: series %v, want %v", name, c.series, want)
		}
		if len(c.runs) != 2 || c.runs[1] != "image\nuncached\n50 concurrent" {
			t.Errorf("%s: runs %q", name, c.runs)
		}
	}
}

func TestNumber(t *testing.T) {
	for _, tc := range []struct {
		cell string
		part int
		want float64
		bad  bool
	}{
		{"12.5", 0, 12.5, false},
		{"12.5 / 30.1", 1, 30.1, false},
		{"400 (0)", 0, 400, false},
		{"–", 0, 0, true},
		{"12.5", 1, 0, true},
	} {
		got, err := number(tc.cell, tc.part)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("number(%q, %d) = %v, %v; want %v (error: %v)", tc.cell, tc.part, got, err, tc.want, tc.bad)
		}
	}
}

func TestClusterChartsFromJSON(t *testing.T) {
	const results = `{"imports": 10, "namespaces": 2, "phases": [
		{"phase": "first sync", "store_reads": 10, "secret_writes": 10, "import_writes": 20, "rss_mib": 50, "peak_rss_mib": 55, "heap_in_use_mib": 20},
		{"phase": "refresh interval 1", "store_reads": 10, "secret_writes": 0, "import_writes": 0, "rss_mib": 51, "peak_rss_mib": 56, "heap_in_use_mib": 21}]}`
	cs, err := clusterCharts([]byte(results))
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 {
		t.Fatalf("%d charts, want 2", len(cs))
	}
	wantReqs := []series{{"store reads", []float64{10, 10}}, {"Secret writes", []float64{10, 0}}, {"import writes (finalizer, status)", []float64{20, 0}}}
	if !reflect.DeepEqual(cs[0].series, wantReqs) {
		t.Errorf("requests %v, want %v", cs[0].series, wantReqs)
	}
	if got := cs[1].series[1].values; !reflect.DeepEqual(got, []float64{55, 56}) {
		t.Errorf("peak RSS %v, want [55 56]", got)
	}
	if _, err := clusterCharts([]byte(`{"phases": []}`)); err == nil {
		t.Error("no error for results without phases")
	}
}
