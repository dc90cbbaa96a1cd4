// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package mutate

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// RequiredPlugins is the annotation by which containerd's NRI (its default
// validator, containerd 2.2 and later) refuses to create a container that
// the named plugins did not see: a pod of containerd delivery names the
// module's plugin in it, so that a node where the plugin is not connected
// fails the container instead of starting it with its references as
// values. The /pod form covers every container of the pod.
const (
	requiredPluginsKey = "required-plugins.noderesource.dev"
	RequiredPlugins    = requiredPluginsKey + "/pod"
)

// Containerd are the webhook's settings of containerd delivery.
type Containerd struct {
	// Enabled: the module runs the NRI plugin; a pod asking for this way
	// is refused otherwise.
	Enabled bool
	// NodeLabel and NodeLabelValue select the nodes where containerd's NRI
	// is set up and the plugin runs; each pod of this way gets them as a
	// nodeSelector.
	NodeLabel, NodeLabelValue string
	// PluginName is the plugin's NRI name (without its index).
	PluginName string
}

// PatchContainerd returns the operations that prepare pod for containerd
// delivery: the projected token volume, mounted into no container (the
// NRI plugin reads it on the node), the nodeSelector of the nodes where
// the plugin runs, and the required-plugins annotation. No container
// changes: the plugin adjusts their environment when containerd creates
// them.
func PatchContainerd(pod *corev1.Pod, o Options, c Containerd) ([]Op, error) {
	vol := tokenVolume(o)
	var errs []error
	if err := checkFree(pod, []volume{vol}); err != nil {
		errs = append(errs, err)
	}
	if v, ok := pod.Spec.NodeSelector[c.NodeLabel]; ok && v != c.NodeLabelValue {
		errs = append(errs, fmt.Errorf("nodeSelector %s=%q: containerd delivery runs only on nodes labelled %s=%s", c.NodeLabel, v, c.NodeLabel, c.NodeLabelValue))
	}
	required, err := requiredPlugins(pod, c.PluginName)
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	ops := appendAll(nil, "/spec/volumes", len(pod.Spec.Volumes), []corev1.Volume{vol.Volume})
	if pod.Spec.NodeSelector == nil {
		ops = append(ops, Op{Op: "add", Path: "/spec/nodeSelector", Value: map[string]string{c.NodeLabel: c.NodeLabelValue}})
	} else {
		ops = append(ops, Op{Op: "add", Path: "/spec/nodeSelector/" + pointerEscape(c.NodeLabel), Value: c.NodeLabelValue})
	}
	if pod.Annotations == nil {
		ops = append(ops, Op{Op: "add", Path: "/metadata/annotations", Value: map[string]string{RequiredPlugins: required}})
	} else {
		ops = append(ops, Op{Op: "add", Path: "/metadata/annotations/" + pointerEscape(RequiredPlugins), Value: required})
	}
	return ops, nil
}

// requiredPlugins is the value of RequiredPlugins: the plugins the pod
// already requires pod-wide (either form; the /pod one would hide the
// other) and ours. A container-scoped requirement takes precedence over
// the pod's for its container, so one without our plugin is refused.
func requiredPlugins(pod *corev1.Pod, plugin string) (string, error) {
	var names []string
	var errs []error
	for _, key := range []string{requiredPluginsKey, RequiredPlugins} {
		v, ok := pod.Annotations[key]
		if !ok {
			continue
		}
		var own []string
		if err := json.Unmarshal([]byte(v), &own); err != nil {
			errs = append(errs, fmt.Errorf("annotation %s: not a JSON list of NRI plugin names: %w", key, err))
			continue
		}
		names = append(names, own...)
	}
	for key, v := range pod.Annotations {
		if !strings.HasPrefix(key, requiredPluginsKey+"/container.") {
			continue
		}
		var own []string
		if err := json.Unmarshal([]byte(v), &own); err != nil || !slices.Contains(own, plugin) {
			errs = append(errs, fmt.Errorf("annotation %s: must list %q for containerd delivery (it takes precedence over the pod-wide requirement the webhook adds)", key, plugin))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return "", err
	}
	if !slices.Contains(names, plugin) {
		names = append(names, plugin)
	}
	out, err := json.Marshal(names)
	return string(out), err
}

// pointerEscape escapes a map key for a JSON pointer (RFC 6901).
func pointerEscape(key string) string {
	return strings.ReplaceAll(strings.ReplaceAll(key, "~", "~0"), "/", "~1")
}
