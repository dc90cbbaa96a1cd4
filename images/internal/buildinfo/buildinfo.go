// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package buildinfo holds what a binary knows about its own build: the
// version the image build stamps into it, reported by --version, in the
// first log line, in the User-Agent of its API requests and in the
// <namespace>_build_info metric (healthserver). It imports no metrics
// library: the env-injector links it and its size matters.
package buildinfo

import (
	"flag"
	"fmt"
	"os"
	"runtime"
)

// version is stamped by the image build:
//
//	go build -ldflags "-X github.com/deckhouse/secrets-store-integration/images/internal/buildinfo.version=v1.2.3"
//
// One variable for every binary, since a -X of main.version silently does
// nothing in a binary that declares no such variable.
var version = "dev"

// Version is the version the binary was built as; "dev" when the build
// stamped none.
func Version() string { return version }

// UserAgent is the User-Agent of component's requests, such as
// "secrets-store-webhook/v1.2.3", so that API server audit logs name the
// binary and its version.
func UserAgent(component string) string {
	return "secrets-store-" + component + "/" + version
}

// Line is what --version prints: the binary's name, its version and the Go
// release that built it.
func Line(name string) string { return name + " " + version + " " + runtime.Version() }

// AddFlag registers --version on fs: when given, the binary prints its name
// and version to stdout and exits 0 during parsing, as -help does, before
// any other flag is checked.
func AddFlag(fs *flag.FlagSet, name string) {
	fs.BoolFunc("version", "print the version and exit", func(string) error {
		fmt.Println(Line(name))
		os.Exit(0)
		return nil
	})
}
