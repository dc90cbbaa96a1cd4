// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	sdkhook "github.com/deckhouse/module-sdk/pkg/hook"

	"github.com/deckhouse/secrets-store-integration/hooks/ensurecrds"
)

// The binary answers addon-operator v1.9.1's discovery and configuration
// calls: `hook list` must print "Found N items" (how it tells a batch hook
// from a shell hook) and `hook config` the batch configuration version it
// knows, "v1", with every hook and its bindings.
func TestBinaryAnswersAddonOperator(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "hooks", "secrets-store-integration-hooks")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	list, err := exec.Command(bin, "hook", "list").Output()
	if err != nil {
		t.Fatalf("hook list: %v", err)
	}
	if !regexp.MustCompile(`Found 3 items`).Match(list) {
		t.Fatalf("hook list printed %q, addon-operator looks for \"Found N items\" with the 3 hooks", list)
	}

	out, err := exec.Command(bin, "hook", "config").Output()
	if err != nil {
		t.Fatalf("hook config: %v", err)
	}
	var cfg sdkhook.BatchHookConfig
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatalf("hook config is not a batch hook configuration: %v\n%s", err, out)
	}
	if cfg.Version != sdkhook.BatchHookConfigV1 {
		t.Fatalf("batch config version %q; addon-operator v1.9.1 only knows %q", cfg.Version, sdkhook.BatchHookConfigV1)
	}
	var names []string
	order := map[string]uint{}
	for _, h := range cfg.Hooks {
		names = append(names, h.Metadata.Name)
		if h.OnBeforeHelm == nil {
			t.Errorf("hook %s does not run before Helm", h.Metadata.Name)
			continue
		}
		order[h.Metadata.Name] = *h.OnBeforeHelm
		for _, k := range h.Kubernetes {
			if k.JqFilter == "" {
				t.Errorf("hook %s binding %s has no jq filter: addon-operator would hand it whole Secrets", h.Metadata.Name, k.Name)
			}
		}
	}
	if want := []string{"connection", "ensure_crds", "webhook_cert"}; !slices.Equal(names, want) {
		t.Fatalf("hooks %v, want %v", names, want)
	}
	if order["ensure_crds"] >= order["webhook_cert"] || order["ensure_crds"] >= order["connection"] {
		t.Errorf("ensure_crds must run before the other hooks: orders %v", order)
	}
}

func TestCRDsAreTheModulesSibling(t *testing.T) {
	got := ensurecrds.GlobFor("/modules/secrets-store-integration/hooks/secrets-store-integration-hooks")
	if want := "/modules/secrets-store-integration/crds/*.yaml"; got != want {
		t.Fatalf("glob %q, want %q", got, want)
	}
}
