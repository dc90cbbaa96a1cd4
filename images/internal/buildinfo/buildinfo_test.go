// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package buildinfo

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

const module = "github.com/deckhouse/secrets-store-integration/images"

// ldflags matches the -ldflags of a Dockerfile's go build.
var ldflags = regexp.MustCompile(`-ldflags "([^"]*)"`)

// Every binary, built with the -ldflags of its Dockerfile, reports the
// version the build stamped with --version.
func TestBinariesReportStampedVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds five binaries")
	}
	const stamped = "v9.8.7-test"
	dir := t.TempDir()
	// A cold build cache on a busy machine takes minutes.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	for _, b := range []string{"csi-driver", "vault-provider", "env-injector", "controller", "webhook"} {
		t.Run(b, func(t *testing.T) {
			dockerfile, err := os.ReadFile(filepath.Join("..", "..", b, "Dockerfile"))
			if err != nil {
				t.Fatal(err)
			}
			m := ldflags.FindSubmatch(dockerfile)
			if m == nil {
				t.Fatalf("%s/Dockerfile has no -ldflags", b)
			}
			flags := strings.ReplaceAll(string(m[1]), "${VERSION}", stamped)
			bin := filepath.Join(dir, b)
			// Without the Dockerfile's -trimpath, which only changes file
			// names and would miss the build cache of every other test.
			build := exec.CommandContext(ctx, "go", "build", "-ldflags", flags, "-o", bin, module+"/"+b)
			build.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("go build -ldflags %q: %v\n%s", flags, err, out)
			}
			run, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			out, err := exec.CommandContext(run, bin, "--version").Output()
			if err != nil {
				t.Fatalf("%s --version: %v", b, err)
			}
			if want := b + " " + stamped + " " + runtime.Version() + "\n"; string(out) != want {
				t.Errorf("%s --version printed %q, want %q (-ldflags %q)", b, out, want, flags)
			}
		})
	}
}

func TestUserAgent(t *testing.T) {
	if got, want := UserAgent("webhook"), "secrets-store-webhook/dev"; got != want {
		t.Errorf("UserAgent = %q, want %q", got, want)
	}
}
