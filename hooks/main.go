// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// The module's hooks as one module-sdk program. addon-operator finds it in
// the module's hooks/ folder (an executable that answers `hook list`), asks
// it for the hooks' configuration (`hook config`) and runs each hook by its
// index (`hook run N`) with the values, snapshots and binding context in
// files. Each hook's logic and configuration live in a package of their own,
// tested there through module-sdk; this file and its siblings only register
// them, one file per hook because module-sdk names a hook after the file
// that registers it.
//
// Build: `go build -o <module>/hooks/secrets-store-integration-hooks .` from
// this folder (the module image build and the tests do it).
package main

import "github.com/deckhouse/module-sdk/pkg/app"

func main() {
	app.Run()
}
