// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// The charts read the run's facts at the top level of a results file, next
// to the command's own fields.
func TestWriteJSONPutsRunInfoBesideTheResults(t *testing.T) {
	c := &Command{name: "bench-test", jsonOut: filepath.Join(t.TempDir(), "r.json"), loadBefore: "0.50"}
	type results struct {
		RunInfo
		Volumes int `json:"volumes"`
	}
	if err := c.WriteJSON(results{RunInfo: c.Info(), Volumes: 3}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(c.jsonOut)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"command", "began", "cpus", "load_average_before", "load_average_after", "volumes"} {
		if _, ok := got[key]; !ok {
			t.Errorf("no top-level %q in %s", key, data)
		}
	}
	if got["load_average_before"] != "0.50" || got["volumes"] != 3.0 {
		t.Errorf("load_average_before %v, volumes %v; want 0.50 and 3", got["load_average_before"], got["volumes"])
	}
}

func TestWriteJSONWithoutTheFlagWritesNothing(t *testing.T) {
	if err := (&Command{}).WriteJSON(make(chan int)); err != nil {
		t.Errorf("WriteJSON without -json: %v, want nothing done", err)
	}
}
