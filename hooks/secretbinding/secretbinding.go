// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package secretbinding builds the Kubernetes binding by which a hook
// watches one named Secret. A batch hook gets what the binding's jq filter
// keeps of an object (addon-operator runs the filter, the hook binary never
// sees the rest), so each binding names the Secret keys it needs and nothing
// more: a private key the hook does not need never reaches it.
package secretbinding

import (
	"fmt"
	"slices"
	"strings"

	"github.com/deckhouse/module-sdk/pkg"
)

// Named watches the Secret namespace/name under the snapshot name binding.
// keys maps the snapshot's JSON fields to the Secret's data keys; each field
// holds the key's value base64-encoded as the API serves it (a []byte field
// decodes it) or null when the key is absent.
func Named(binding, namespace, name string, keys map[string]string) pkg.KubernetesConfig {
	return pkg.KubernetesConfig{
		Name:              binding,
		APIVersion:        "v1",
		Kind:              "Secret",
		NameSelector:      &pkg.NameSelector{MatchNames: []string{name}},
		NamespaceSelector: &pkg.NamespaceSelector{NameSelector: &pkg.NameSelector{MatchNames: []string{namespace}}},
		JqFilter:          JqFilter(keys),
	}
}

// JqFilter is the filter that keeps keys (field: Secret data key) of a
// Secret, in a stable order so that its checksum only changes with the data.
func JqFilter(keys map[string]string) string {
	fields := make([]string, 0, len(keys))
	for field := range keys {
		fields = append(fields, field)
	}
	slices.Sort(fields)
	parts := make([]string, 0, len(fields))
	for _, field := range fields {
		parts = append(parts, fmt.Sprintf("%q: .data[%q]", field, keys[field]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
