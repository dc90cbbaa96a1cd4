// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package module names the module as addon-operator sees it: its name, its
// namespace and where its values live, so that every hook addresses the same
// keys.
package module

import "strings"

const (
	// Name is the module's name in Deckhouse (module.yaml).
	Name = "secrets-store-integration"
	// Namespace is where the module's objects run.
	Namespace = "d8-secrets-store-integration"
	// ValuesKey is the module's section in the values tree: addon-operator
	// keys a module's values by its name in lower camel case.
	ValuesKey = "secretsStoreIntegration"
)

// ValuesPath joins keys under the module's section into the dotted path the
// hook input's values collector takes.
func ValuesPath(keys ...string) string {
	return ValuesKey + "." + strings.Join(keys, ".")
}

// InternalPath is ValuesPath under "internal", the part of the values that
// hooks compute and users never set.
func InternalPath(keys ...string) string {
	return ValuesPath(append([]string{"internal"}, keys...)...)
}
