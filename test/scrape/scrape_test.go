// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package scrape

import (
	"testing"
)

func TestParseSums(t *testing.T) {
	m, err := Parse(`# HELP x_total Requests.
# TYPE x_total counter
x_total{operation="login",result="ok"} 3
x_total{operation="read",result="ok"} 10
x_total{operation="read",result="denied",note="a \"quoted\}, value"} 2 1700000000000
y 1.5e+00
`)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"x_total", nil, 15},
		{"x_total", map[string]string{"operation": "read"}, 12},
		{"x_total", map[string]string{"operation": "read", "result": "ok"}, 10},
		{"x_total", map[string]string{"note": `a "quoted}, value`}, 2},
		{"x_total", map[string]string{"operation": "write"}, 0},
		{"y", nil, 1.5},
	} {
		if got := m.Sum(c.name, c.labels); got != c.want {
			t.Errorf("Sum(%s, %v) = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

func TestParseRefusesGarbage(t *testing.T) {
	for _, text := range []string{"x_total{a=\"b\" 1", "x_total{a=b} 1", "x_total notanumber"} {
		if _, err := Parse(text); err == nil {
			t.Errorf("Parse(%q) accepted it", text)
		}
	}
}
