// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package mutate

import (
	"encoding/json"
	"slices"
	"testing"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/deckhouse/secrets-store-integration/images/internal/injection"
)

// FuzzPatch: whatever a pod's annotation, variable and command line hold,
// a pod that Check accepts gets a patch that applies, and every container
// then starts the injector with a non-empty command line.
func FuzzPatch(f *testing.F) {
	f.Add("watch-for-data", "secrets-store:secret/data/db#password", "/app", "", "sh", true)
	f.Add("none", "x-${secrets-store:kv/a#b}-y", "", "serve", "", false)
	f.Add("", "", "", "", "", false)
	f.Add("watch-for-lease", "${secrets-store:", "$(HOME)", "$$", "$", true)
	f.Fuzz(func(t *testing.T, restart, value, command, arg, imageCmd string, probes bool) {
		ann := map[string]string{
			injection.AnnotationPrefix + injection.AnnotationRole:         "app",
			injection.AnnotationPrefix + injection.AnnotationMutateProbes: map[bool]string{true: "true", false: "false"}[probes],
		}
		if restart != "" {
			ann[injection.AnnotationPrefix+injection.AnnotationRestartOnSecretChange] = restart
		}
		c := corev1.Container{Name: "app", Image: "app:v1", Env: []corev1.EnvVar{{Name: "V", Value: value}}}
		if command != "" {
			c.Command = []string{command}
		}
		if arg != "" {
			c.Args = []string{arg}
		}
		c.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"check"}}}}
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Annotations: ann}, Spec: corev1.PodSpec{Containers: []corev1.Container{c}}}
		s, _, err := Check(pod, defaults)
		if err != nil {
			return
		}
		var img Image
		if imageCmd != "" {
			img.Cmd = []string{imageCmd}
		}
		ops, err := Patch(pod, s, opts, map[string]Image{"app:v1": img})
		if err != nil {
			if command == "" && arg == "" && imageCmd == "" {
				return // nothing to run: refused, rightly
			}
			t.Fatalf("Patch refused a pod with something to run: %v", err)
		}
		got := apply(t, pod, ops)
		if !Injected(got) {
			t.Fatal("patched pod lacks the init container")
		}
		app := got.Spec.Containers[0]
		if !slices.Equal(app.Command, []string{injection.InjectorPath, "--"}) || len(app.Args) == 0 {
			t.Fatalf("container runs %q %q", app.Command, app.Args)
		}
		if probes != (app.LivenessProbe.Exec.Command[0] == injection.InjectorPath) {
			t.Fatalf("mutate-probes %v, probe %q", probes, app.LivenessProbe.Exec.Command)
		}
	})
}

// FuzzPatchContainerd: whatever the pod's own annotations and nodeSelector
// hold (keys with "/" and "~" included), the patch for containerd
// delivery either is refused or applies, leaves the containers alone, and
// gives the pod the node label and a required-plugins list with the plugin.
func FuzzPatchContainerd(f *testing.F) {
	f.Add("required-plugins.noderesource.dev", `["a"]`, "team/x~y", "v")
	f.Add("required-plugins.noderesource.dev/pod", `["secrets-store"]`, nri.NodeLabel, "enabled")
	f.Add("required-plugins.noderesource.dev/container.app", `[]`, "", "")
	f.Add("a~1b/c", "{", nri.NodeLabel, "disabled")
	f.Fuzz(func(t *testing.T, annKey, annValue, selKey, selValue string) {
		// The API server holds valid UTF-8 only; JSON would change the rest.
		for _, v := range []string{annKey, annValue, selKey, selValue} {
			if !utf8.ValidString(v) {
				return
			}
		}
		pod := nriPod(annotated("delivery", "containerd"))
		pod.Annotations[annKey] = annValue
		if selKey != "" {
			pod.Spec.NodeSelector = map[string]string{selKey: selValue}
		}
		ops, err := PatchContainerd(pod, opts, nri)
		if err != nil {
			return
		}
		got := apply(t, pod, ops)
		if !slices.EqualFunc(got.Spec.Containers, pod.Spec.Containers, func(a, b corev1.Container) bool {
			return a.Name == b.Name && slices.Equal(a.Command, b.Command) && len(a.Env) == len(b.Env) && len(a.VolumeMounts) == len(b.VolumeMounts)
		}) || len(got.Spec.InitContainers) != len(pod.Spec.InitContainers) {
			t.Fatalf("containers changed")
		}
		if got.Spec.NodeSelector[nri.NodeLabel] != nri.NodeLabelValue {
			t.Fatalf("nodeSelector %v", got.Spec.NodeSelector)
		}
		var required []string
		if err := json.Unmarshal([]byte(got.Annotations[RequiredPlugins]), &required); err != nil || !slices.Contains(required, nri.PluginName) {
			t.Fatalf("%s = %q", RequiredPlugins, got.Annotations[RequiredPlugins])
		}
		for k, v := range pod.Annotations {
			if k != RequiredPlugins && got.Annotations[k] != v {
				t.Fatalf("annotation %q changed", k)
			}
		}
	})
}
