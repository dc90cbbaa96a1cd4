// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package docsite

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRewrite(t *testing.T) {
	repo := t.TempDir()
	for _, f := range []string{"docs/USAGE.md", "docs/examples/csi/pod.yaml", "openapi/config-values.yaml"} {
		if err := writeFile(filepath.Join(repo, f), []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	c := &converter{repo: repo, static: filepath.Join(t.TempDir(), "static"), dirs: map[string]bool{}}
	for target, want := range map[string]string{
		"USAGE.md":                      "/usage/",
		"USAGE.ru.md#ротация":           "/ru/usage/#ротация",
		"README.md":                     "/",
		"README.ru.md":                  "/ru/",
		"#local":                        "#local",
		"https://example.com/a.md":      "https://example.com/a.md",
		"examples/csi/pod.yaml":         "/examples/csi/pod.yaml",
		"examples/csi/":                 "/examples/csi/",
		"../openapi/config-values.yaml": "/source/openapi/config-values.yaml",
		"../openapi/missing.yaml":       "/source/openapi/missing.yaml",
	} {
		got, err := c.rewrite(target)
		if err != nil || got != want {
			t.Errorf("rewrite(%q) = %q, %v; want %q", target, got, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(c.static, "source", "openapi", "config-values.yaml")); err != nil {
		t.Errorf("the file outside docs/ was not copied: %v", err)
	}
}

func TestOutsideCode(t *testing.T) {
	up := func(s string) string { return strings.ToUpper(s) }
	for in, want := range map[string]string{
		"a `b` c":         "A `b` C",
		"a ``b ` c`` d":   "A ``b ` c`` D",
		"no code":         "NO CODE",
		"open `backtick":  "OPEN `BACKTICK",
		"`x`](y) and `z`": "`x`](Y) AND `z`",
	} {
		if got := outsideCode(in, up); got != want {
			t.Errorf("outsideCode(%q) = %q, want %q", in, got, want)
		}
	}
}
