// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package mutate

import (
	"slices"
	"testing"

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
