// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestManagedCountsEachImportOnce(t *testing.T) {
	m := New()
	steps := []struct {
		key     string
		managed bool
		want    float64
	}{
		{"a/x", true, 1},
		{"a/x", true, 1}, // every refresh says so again
		{"b/y", true, 2},
		{"a/x", false, 1},
		{"c/z", false, 1}, // never managed
	}
	for i, s := range steps {
		m.Managed(s.key, s.managed)
		if got := testutil.ToFloat64(m.managed); got != s.want {
			t.Errorf("step %d: secrets_managed = %v, want %v", i, got, s.want)
		}
	}
}
