// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package settings holds the tests of the module's OpenAPI schemas
// (openapi/config-values.yaml, values.yaml): they load them with
// addon-operator's own schema storage, the code that validates a
// ModuleConfig's spec.settings and the values before Helm, and check what it
// accepts and refuses.
//
// It is a Go module of its own, outside go.work: addon-operator v1.9.1 and
// the module-sdk version the hooks use need different versions of
// github.com/deckhouse/deckhouse/pkg/log, so they cannot link into one test
// binary. That the hooks' output fits values.yaml is checked by the real
// addon-operator in test/integration/addonoperator (it validates the values
// after the hooks, before Helm).
package settings
