// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package containerdenv

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Output reads the CRI log format containerd writes: stdout lines only,
// pieces (P) joined up to their end (F).
func TestOutputReadsCRILog(t *testing.T) {
	for _, tc := range []struct {
		name, log string
		want      []string
		err       string
	}{
		{"lines", "2026-12-02T03:46:53.1Z stdout F A=1\n2026-12-02T03:46:53.2Z stdout F B=two words\n", []string{"A=1", "B=two words"}, ""},
		{"stderr left out", "2026-12-02T03:46:53.1Z stderr F oops\n2026-12-02T03:46:53.2Z stdout F A=1\n", []string{"A=1"}, ""},
		{"pieces joined", "t stdout P AB\nt stdout P CD\nt stdout F EF\n", []string{"ABCDEF"}, ""},
		{"empty line", "t stdout F\n", []string{""}, ""},
		{"malformed", "garbage\n", nil, `malformed line "garbage"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "app"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "app", "0.log"), []byte(tc.log), 0o644); err != nil {
				t.Fatal(err)
			}
			s := &Sandbox{Config: &runtimeapi.PodSandboxConfig{LogDirectory: dir}}
			got, err := (&Runtime{}).Output(s, "app")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}
