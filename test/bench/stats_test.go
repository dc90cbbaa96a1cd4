// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"slices"
	"testing"
	"time"
)

func TestPercentileIsNearestRank(t *testing.T) {
	sorted := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{0, 1}, {.1, 1}, {.5, 5}, {.51, 6}, {.99, 10}, {1, 10}} {
		if got := Percentile(sorted, c.p); got != c.want {
			t.Errorf("Percentile(1..10, %v) = %v, want %v", c.p, got, c.want)
		}
	}
}

func TestParseCounts(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []int
	}{{"1", []int{1}}, {"1, 10,100", []int{1, 10, 100}}, {"0", nil}, {"1,,2", nil}, {"-3", nil}, {"x", nil}} {
		got, err := parseCounts(c.in)
		if (err != nil) != (c.want == nil) || !slices.Equal(got, c.want) {
			t.Errorf("parseCounts(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func TestParallelCallsEachIndexOnce(t *testing.T) {
	calls := make([]int, 50)
	Parallel(t.Context(), len(calls), 7, func(i int) { calls[i]++ })
	for i, n := range calls {
		if n != 1 {
			t.Errorf("f(%d) called %d times", i, n)
		}
	}
}
