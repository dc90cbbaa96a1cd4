// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package module

import (
	"testing"

	"github.com/deckhouse/module-sdk/pkg/utils"
)

// The values key must be the one addon-operator derives from the module's
// name, or every value the hooks write lands where the chart never reads.
func TestValuesKeyIsTheSDKsKey(t *testing.T) {
	if got := utils.ModuleNameToValuesKey(Name); got != ValuesKey {
		t.Fatalf("module-sdk keys module %q as %q, ValuesKey is %q", Name, got, ValuesKey)
	}
}

func TestInternalPath(t *testing.T) {
	got := InternalPath("webhookCert", "ca")
	if want := "secretsStoreIntegration.internal.webhookCert.ca"; got != want {
		t.Fatalf("InternalPath = %q, want %q", got, want)
	}
}
