// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package rollout restarts workloads the way `kubectl rollout restart` does:
// it sets an annotation on the pod template, so the workload's controller
// replaces the pods and they read the Secret anew.
package rollout

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/deckhouse/secrets-store-integration/images/api/v1alpha1"
)

// Annotation is set on the pod template to the restart's time.
const Annotation = "secrets-store.deckhouse.io/restartedAt"

// Result says which targets were restarted and which do not exist.
type Result struct {
	Restarted, Missing []string // "Deployment/web"
}

// Restart annotates the pod template of each target in namespace. A missing
// target is reported, not an error: the import may name a workload that is
// not deployed yet. Other failures are joined into the error, after every
// target was tried.
func Restart(ctx context.Context, c client.Client, namespace string, targets []v1alpha1.RolloutTarget, at time.Time) (Result, error) {
	patch := fmt.Appendf(nil, `{"spec":{"template":{"metadata":{"annotations":{%q:%q}}}}}`, Annotation, at.UTC().Format(time.RFC3339))
	var res Result
	var errs []error
	for _, t := range targets {
		obj, err := object(t.Kind)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		obj.SetNamespace(namespace)
		obj.SetName(t.Name)
		name := t.Kind + "/" + t.Name
		err = c.Patch(ctx, obj, client.RawPatch(types.StrategicMergePatchType, patch))
		switch {
		case apierrors.IsNotFound(err):
			res.Missing = append(res.Missing, name)
		case err != nil:
			errs = append(errs, fmt.Errorf("restart %s: %w", name, err))
		default:
			res.Restarted = append(res.Restarted, name)
		}
	}
	return res, errors.Join(errs...)
}

func object(kind string) (client.Object, error) {
	switch kind {
	case "Deployment":
		return &appsv1.Deployment{}, nil
	case "StatefulSet":
		return &appsv1.StatefulSet{}, nil
	case "DaemonSet":
		return &appsv1.DaemonSet{}, nil
	}
	return nil, fmt.Errorf("rollout restart of kind %q: want Deployment, StatefulSet or DaemonSet", kind)
}
