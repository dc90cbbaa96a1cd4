// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package injection

import (
	"errors"
	"fmt"
)

// Ways of delivery (annotation delivery).
const (
	// DeliveryEntrypoint: an init container copies the env injector into
	// the pod and every container starts through it (the default).
	DeliveryEntrypoint = "entrypoint"
	// DeliveryContainerd: the module's NRI plugin gives each container its
	// values when containerd creates it; the pod gets only the projected
	// token volume, which the plugin reads on the node.
	DeliveryContainerd = "containerd"
)

// Containerd reports whether the pod asks for containerd delivery. Both
// the webhook and the NRI plugin decide with it.
func Containerd(ann map[string]string) bool {
	return ann[AnnotationPrefix+AnnotationDelivery] == DeliveryContainerd
}

// containerdRules are the annotations of entrypoint delivery that do not
// apply when containerd delivers: each says why. refuses says whether the
// pod's value asks for something this way cannot do; nil: the annotation
// is only ignored, with a warning.
var containerdRules = []struct {
	annotation string
	refuses    func(s *Settings) bool
	why        string
}{
	{annotationTokenPath, always,
		"the NRI plugin reads only the projected token volume the webhook adds (kubelet writes it on the node); remove the annotation"},
	{AnnotationRestartOnSecretChange, func(s *Settings) bool { return s.Restart != RestartNone },
		"no process of the module stays in the container to watch the secrets; a new value reaches the container only when it is created again (delete the pod, or roll out its workload)"},
	{"secret-poll-interval", always, "nothing polls the store in this way; remove the annotation"},
	{AnnotationMutateProbes, func(s *Settings) bool { return s.MutateProbes },
		"not needed: exec probes run with the container's environment, which already holds the values"},
	{"tls-secret", always,
		"the NRI plugin has no Kubernetes API rights to read a Secret; use the module's store (its CA comes from the module's settings) or a store whose certificate the system roots verify"},
	{"env-injector-pull-policy", always, "no init container is added in this way; remove the annotation"},
	{"log-level", nil, "ignored: the NRI plugin logs at its own level"},
	{"enable-json-log", nil, "ignored: the NRI plugin logs JSON"},
	{"client-timeout", nil, "ignored: the NRI plugin's --request-timeout bounds each container's resolution"},
}

func always(*Settings) bool { return true }

// checkContainerd refuses the annotations that containerd delivery cannot
// honour and warns of those it ignores.
func checkContainerd(s *Settings, lookup func(string) (string, bool), field func(string) string) ([]string, error) {
	var warnings []string
	var errs []error
	for _, r := range containerdRules {
		if _, ok := lookup(r.annotation); !ok {
			continue
		}
		switch {
		case r.refuses == nil:
			warnings = append(warnings, fmt.Sprintf("%s: %s", field(r.annotation), r.why))
		case r.refuses(s):
			errs = append(errs, &FieldError{Field: field(r.annotation),
				Err: fmt.Errorf("cannot be used with %s%s: %s: %s", AnnotationPrefix, AnnotationDelivery, DeliveryContainerd, r.why)})
		}
	}
	return warnings, errors.Join(errs...)
}
