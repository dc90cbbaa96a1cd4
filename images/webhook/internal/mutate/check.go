// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package mutate

import (
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/deckhouse/secrets-store-integration/images/internal/envref"
	"github.com/deckhouse/secrets-store-integration/images/internal/injection"
	"github.com/deckhouse/secrets-store-integration/images/internal/params"
)

// EnvError is a bad reference in a container's variable.
type EnvError struct {
	Container, Variable string
	Err                 error
}

func (e *EnvError) Error() string {
	return fmt.Sprintf("container %q, variable %s: %v", e.Container, e.Variable, e.Err)
}

func (e *EnvError) Unwrap() error { return e.Err }

// Check parses the pod's annotations and the references in its containers'
// variables, as the injector will at start, so that a pod it would fail
// in is refused now. Warnings are accepted but risky or useless settings.
// The error joins an *injection.FieldError per bad annotation and an
// *EnvError per bad reference.
func Check(pod *corev1.Pod, d params.Defaults) (injection.Settings, []string, error) {
	s, warnings, annErr := injection.FromAnnotations(pod.Annotations, d)
	errs := []error{annErr}
	all := slices.Concat(pod.Spec.InitContainers, pod.Spec.Containers)
	for _, name := range s.SkipContainers {
		if !slices.ContainsFunc(all, func(c corev1.Container) bool { return c.Name == name }) {
			warnings = append(warnings, fmt.Sprintf("annotation %s%s names container %q, which the pod does not have",
				injection.AnnotationPrefix, injection.AnnotationSkipMutateContainers, name))
		}
	}
	mutated := 0
	for _, c := range all {
		skipped := slices.Contains(s.SkipContainers, c.Name)
		if !skipped {
			mutated++
		}
		for _, e := range c.Env {
			if e.ValueFrom == nil && envref.Has(e.Value) {
				if skipped {
					warnings = append(warnings, fmt.Sprintf("container %q, variable %s holds a reference, but the container is skipped: the app sees the reference, not the secret", c.Name, e.Name))
					continue
				}
				v, err := envref.Parse(e.Value)
				if err != nil {
					errs = append(errs, &EnvError{Container: c.Name, Variable: e.Name, Err: err})
				} else if v.UsesLogin() && s.Delivery == injection.DeliveryContainerd {
					errs = append(errs, &EnvError{Container: c.Name, Variable: e.Name, Err: fmt.Errorf(
						"%s%s cannot be used with %s%s: %s: the store token would be written into the container's spec on the node",
						envref.Prefix, envref.Login, injection.AnnotationPrefix, injection.AnnotationDelivery, injection.DeliveryContainerd)})
				} else if v.UsesLogin() {
					warnings = append(warnings, fmt.Sprintf("container %q, variable %s takes the injector's store token (%s%s): "+
						"the application gets a live token with every policy of the role, and the injector does not revoke it; it ends with its TTL",
						c.Name, e.Name, envref.Prefix, envref.Login))
				}
			}
			if !skipped && injection.IsConfigVar(e.Name) && s.Delivery == injection.DeliveryEntrypoint {
				warnings = append(warnings, fmt.Sprintf("container %q sets %s, which the injection sets for itself and hides from the app", c.Name, e.Name))
			}
		}
	}
	if mutated == 0 {
		warnings = append(warnings, "every container is skipped: nothing gets secrets")
	}
	return s, warnings, errors.Join(errs...)
}

// Fields names what each part of a Check error is about (annotations,
// containers and variables) without the values, for logs: a variable's
// value must not reach a log line, even when it is a malformed reference.
func Fields(err error) []string {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range joined.Unwrap() {
			out = append(out, Fields(e)...)
		}
		return out
	}
	var fe *injection.FieldError
	var ee *EnvError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee):
		return []string{fmt.Sprintf("container %q variable %s", ee.Container, ee.Variable)}
	case errors.As(err, &fe):
		return []string{fe.Field}
	}
	return []string{"other"}
}
