// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package secretsync

import (
	"fmt"
	"time"

	"github.com/deckhouse/secrets-store-integration/images/api/v1alpha1"
	"github.com/deckhouse/secrets-store-integration/images/internal/attributes"
	"github.com/deckhouse/secrets-store-integration/images/internal/secretmodel"
	"github.com/deckhouse/secrets-store-integration/images/internal/storepolicy"
)

// DefaultRefresh is the refresh interval when spec.refreshInterval is empty.
const DefaultRefresh = time.Hour

// MinRefresh is the shortest refresh interval: imports share the
// controller's workers and the store, and one that asks every few
// milliseconds would take them. The CRD checks the same (CEL).
const MinRefresh = 30 * time.Second

// syncSpec is a KubernetesSecret import's spec, checked and with defaults.
type syncSpec struct {
	params secretmodel.Parameters
	// refresh is how often the store is read; 0 reads it once.
	refresh            time.Duration
	creation, deletion string
}

// parseSpec checks what the CRD's schema cannot: the files as the provider
// would take them, Secret keys, the refresh interval, and what the module
// settings allow (pol). The admission webhook checks the same, but an
// import written while it was down or unregistered must not make the
// controller send a token where the settings do not allow.
func parseSpec(ssi *v1alpha1.SecretsStoreImport, pol storepolicy.Policy) (syncSpec, error) {
	p, err := attributes.ForSecretSync(ssi)
	if err != nil {
		return syncSpec{}, err
	}
	if err := pol.CheckParameters(p); err != nil {
		return syncSpec{}, err
	}
	if err := storepolicy.CheckSecretType(ssi); err != nil {
		return syncSpec{}, err
	}
	s := syncSpec{params: p, refresh: DefaultRefresh}
	s.creation, s.deletion = policies(ssi)
	source := attributes.Source(ssi.Namespace, ssi.Name)
	if v := ssi.Spec.RefreshInterval; v != "" {
		d, err := time.ParseDuration(v)
		if v == "0" {
			d, err = 0, nil
		}
		if err != nil || d < 0 {
			return syncSpec{}, fmt.Errorf("%s: spec.refreshInterval %q: want a duration such as 30m or 1h, or 0 to read once", source, v)
		}
		if d > 0 && d < MinRefresh {
			return syncSpec{}, fmt.Errorf("%s: spec.refreshInterval %q: at least %s (or 0 to read once)", source, v, MinRefresh)
		}
		s.refresh = d
	}
	switch s.creation {
	case v1alpha1.CreationOwner, v1alpha1.CreationOrphan, v1alpha1.CreationMerge:
	default:
		return syncSpec{}, fmt.Errorf("%s: spec.creationPolicy %q: want Owner, Orphan or Merge", source, s.creation)
	}
	switch s.deletion {
	case v1alpha1.DeletionDelete, v1alpha1.DeletionRetain:
	default:
		return syncSpec{}, fmt.Errorf("%s: spec.deletionPolicy %q: want Delete or Retain", source, s.deletion)
	}
	for i, t := range ssi.Spec.RolloutRestart {
		switch t.Kind {
		case "Deployment", "StatefulSet", "DaemonSet":
		default:
			return syncSpec{}, fmt.Errorf("%s: spec.rolloutRestart[%d].kind %q: want Deployment, StatefulSet or DaemonSet", source, i, t.Kind)
		}
	}
	return s, nil
}

// policies returns the creation and deletion policies with their defaults:
// Owner; Retain for Orphan (the point of an orphan is to outlive the
// import), Delete otherwise.
func policies(ssi *v1alpha1.SecretsStoreImport) (creation, deletion string) {
	creation, deletion = ssi.Spec.CreationPolicy, ssi.Spec.DeletionPolicy
	if creation == "" {
		creation = v1alpha1.CreationOwner
	}
	if deletion == "" {
		deletion = v1alpha1.DeletionDelete
		if creation == v1alpha1.CreationOrphan {
			deletion = v1alpha1.DeletionRetain
		}
	}
	return creation, deletion
}
