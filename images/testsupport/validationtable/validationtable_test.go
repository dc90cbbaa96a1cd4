// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package validationtable

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadRefusesWhatItCannotRead(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"bad verdict": "# comment\nfile\tmaybe\tx\n",
		"too short":   "file\tok\tx\nfile\trefuse\t..\n",
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if cases, err := Read(path); err == nil {
			t.Errorf("%s: Read accepted it: %v", name, cases)
		}
	}
}

func TestReadTheTable(t *testing.T) {
	cases, err := Read(filepath.Join("..", "..", "..", Path))
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]bool{}
	verdicts := map[bool]bool{}
	for _, c := range cases {
		fields[c.Field] = true
		verdicts[c.OK] = true
		if strings.Contains(c.Value, "\t") {
			t.Errorf("value %q holds a tab", c.Value)
		}
	}
	if len(fields) != 4 || len(verdicts) != 2 {
		t.Errorf("fields %v, verdicts %v: want file, authPath, audience and path, ok and refuse", fields, verdicts)
	}
}
