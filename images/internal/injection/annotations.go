// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package injection

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/deckhouse/secrets-store-integration/images/internal/params"
)

// AnnotationPrefix starts every pod annotation of the module.
const AnnotationPrefix = "secrets-store.deckhouse.io/"

// Pod annotations, without the prefix, that other packages name; the
// table in settings.go holds them all. Role is the opt-in.
const (
	AnnotationRole                  = "role"
	AnnotationAddr                  = "addr"
	AnnotationMutateProbes          = "mutate-probes"
	AnnotationSkipMutateContainers  = "skip-mutate-containers"
	AnnotationRestartOnSecretChange = "restart-on-secret-change"
	annotationTokenPath             = "service-account-token-path"
	AnnotationDelivery              = "delivery"
)

// Enabled reports whether the pod opted in to injection.
func Enabled(ann map[string]string) bool {
	_, ok := ann[AnnotationPrefix+AnnotationRole]
	return ok
}

// FromAnnotations parses a pod's annotations over the module's defaults d.
// Warnings are risky but accepted settings; the error joins every bad
// annotation.
func FromAnnotations(ann map[string]string, d params.Defaults) (Settings, []string, error) {
	field := func(name string) string { return "annotation " + AnnotationPrefix + name }
	lookup := func(name string) (string, bool) {
		v, ok := ann[AnnotationPrefix+name]
		return v, ok
	}
	s := defaults()
	// The module's CA belongs to the module's store: a pod that names its
	// own store gets none.
	if _, own := lookup(AnnotationAddr); !own {
		s.CACertPEM = d.CACertPEM
	}
	_, s.TokenPathSet = lookup(annotationTokenPath)

	warnings := unknownAnnotations(ann)
	w, err := read(&s, func(row setting) string { return row.annotation }, field, lookup, &d)
	warnings = append(warnings, w...)
	if s.Delivery == DeliveryContainerd {
		w, cerr := checkContainerd(&s, lookup, field)
		warnings = append(warnings, w...)
		err = errors.Join(err, cerr)
	}
	return s, warnings, err
}

// unknownAnnotations warns of the module's annotations that no row reads.
func unknownAnnotations(ann map[string]string) []string {
	var warnings []string
	for k := range ann {
		name, ok := strings.CutPrefix(k, AnnotationPrefix)
		if !ok || strings.Contains(name, "/") || slices.ContainsFunc(settings, func(row setting) bool { return row.annotation == name }) {
			continue
		}
		// Short: the API server truncates long warnings.
		warnings = append(warnings, fmt.Sprintf("%s is not a known annotation; it is ignored (a typo?)", k))
	}
	slices.Sort(warnings)
	return warnings
}
