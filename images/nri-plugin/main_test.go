// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deckhouse/secrets-store-integration/images/internal/params"
)

func TestCheck(t *testing.T) {
	good := options{name: "secrets-store", index: 50, kubeletRoot: "/var/lib/kubelet", requestTimeout: 8 * time.Second}
	for _, tc := range []struct {
		name string
		edit func(*options)
		want string // part of the error; "" accepted
	}{
		{"defaults", func(*options) {}, ""},
		{"index too high", func(o *options) { o.index = 100 }, "--plugin-index 100: want 0 to 99"},
		{"no name", func(o *options) { o.name = "" }, "--plugin-name is empty"},
		{"no timeout", func(o *options) { o.requestTimeout = 0 }, "--request-timeout 0s: want more than 0"},
		{"no kubelet root", func(o *options) { o.kubeletRoot = "" }, "--kubelet-root-dir is empty"},
		{"CA file missing", func(o *options) {
			o.defaults = params.Defaults{CACertPath: filepath.Join(t.TempDir(), "ca.crt")}
		}, "read the store's CA (--vault-ca-cert)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := good
			tc.edit(&o)
			err := o.check()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
