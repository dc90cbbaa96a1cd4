// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package mutate

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var nri = Containerd{Enabled: true, NodeLabel: "secrets-store.deckhouse.io/containerd-delivery", NodeLabelValue: "enabled", PluginName: "secrets-store"}

func nriPod(ann map[string]string) *corev1.Pod {
	app := container("app", "app:v1")
	app.Env = []corev1.EnvVar{{Name: "PASSWORD", Value: "secrets-store:secret/data/app#password"}}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Annotations: ann},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{container("migrate", "app:v1", "/migrate")},
			Containers:     []corev1.Container{app, container("sidecar", "proxy:v1")},
			Volumes:        []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
		},
	}
}

// TestPatchContainerd: the pod gets the token volume, mounted nowhere, the
// nodeSelector of the plugin's nodes and the required-plugins annotation;
// no container changes and no init container is added.
func TestPatchContainerd(t *testing.T) {
	for _, tc := range []struct {
		name     string
		pod      func() *corev1.Pod
		selector map[string]string
		required string
	}{
		{name: "bare pod", pod: func() *corev1.Pod { return nriPod(annotated("delivery", "containerd")) },
			selector: map[string]string{nri.NodeLabel: "enabled"}, required: `["secrets-store"]`},
		{name: "own nodeSelector and required plugins", pod: func() *corev1.Pod {
			p := nriPod(annotated("delivery", "containerd"))
			p.Spec.NodeSelector = map[string]string{"kubernetes.io/os": "linux"}
			p.Annotations[requiredPluginsKey] = `["00-gpu"]`
			p.Annotations[RequiredPlugins] = `["secrets-store","audit"]`
			return p
		}, selector: map[string]string{"kubernetes.io/os": "linux", nri.NodeLabel: "enabled"}, required: `["00-gpu","secrets-store","audit"]`},
		{name: "container-scoped requirement with ours", pod: func() *corev1.Pod {
			p := nriPod(annotated("delivery", "containerd"))
			p.Annotations[requiredPluginsKey+"/container.app"] = `["secrets-store"]`
			return p
		}, selector: map[string]string{nri.NodeLabel: "enabled"}, required: `["secrets-store"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := tc.pod()
			s, _, err := Check(pod, defaults)
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if s.Delivery != "containerd" {
				t.Fatalf("delivery %q", s.Delivery)
			}
			ops, err := PatchContainerd(pod, opts, nri)
			if err != nil {
				t.Fatalf("PatchContainerd: %v", err)
			}
			got := apply(t, pod, ops)
			if !reflect.DeepEqual(got.Spec.Containers, pod.Spec.Containers) || !reflect.DeepEqual(got.Spec.InitContainers, pod.Spec.InitContainers) {
				t.Errorf("containers changed:\n%+v\n%+v", got.Spec.InitContainers, got.Spec.Containers)
			}
			if len(got.Spec.Volumes) != 2 || got.Spec.Volumes[0].Name != "data" {
				t.Fatalf("volumes %+v: want the pod's and the token's", got.Spec.Volumes)
			}
			v := volumeOf(got, TokenVolume)
			if v == nil || v.Projected == nil || len(v.Projected.Sources) != 1 {
				t.Fatalf("token volume %+v", v)
			}
			if sa := v.Projected.Sources[0].ServiceAccountToken; sa == nil || sa.Audience != "vault" || sa.Path != "token" || *sa.ExpirationSeconds != 600 {
				t.Errorf("token projection %+v", sa)
			}
			if !reflect.DeepEqual(got.Spec.NodeSelector, tc.selector) {
				t.Errorf("nodeSelector %v, want %v", got.Spec.NodeSelector, tc.selector)
			}
			if a := got.Annotations[RequiredPlugins]; a != tc.required {
				t.Errorf("%s = %s, want %s", RequiredPlugins, a, tc.required)
			}
			for k, v := range pod.Annotations {
				if k != RequiredPlugins && got.Annotations[k] != v {
					t.Errorf("annotation %s changed to %q", k, got.Annotations[k])
				}
			}
		})
	}
}

func TestPatchContainerdRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		pod  func() *corev1.Pod
		want []string
	}{
		{"token volume name taken", func() *corev1.Pod {
			p := nriPod(annotated("delivery", "containerd"))
			p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: TokenVolume})
			return p
		}, []string{`volume "secrets-store-token" already exists`}},
		{"other nodes asked for", func() *corev1.Pod {
			p := nriPod(annotated("delivery", "containerd"))
			p.Spec.NodeSelector = map[string]string{nri.NodeLabel: "disabled"}
			return p
		}, []string{`nodeSelector secrets-store.deckhouse.io/containerd-delivery="disabled"`, "only on nodes labelled"}},
		{"container requirement without ours", func() *corev1.Pod {
			p := nriPod(annotated("delivery", "containerd"))
			p.Annotations[requiredPluginsKey+"/container.app"] = `["other"]`
			return p
		}, []string{"annotation required-plugins.noderesource.dev/container.app: must list \"secrets-store\""}},
		{"required plugins not a list", func() *corev1.Pod {
			p := nriPod(annotated("delivery", "containerd"))
			p.Annotations[RequiredPlugins] = `secrets-store`
			return p
		}, []string{"annotation required-plugins.noderesource.dev/pod: not a JSON list"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := PatchContainerd(tc.pod(), opts, nri)
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error %v lacks %q", err, w)
				}
			}
		})
	}
}

// TestCheckContainerdLogin: the store token may not be handed to a
// container of containerd delivery: it would sit in the container's spec
// on the node's disk.
func TestCheckContainerdLogin(t *testing.T) {
	pod := nriPod(annotated("delivery", "containerd"))
	pod.Spec.Containers[0].Env = append(pod.Spec.Containers[0].Env, corev1.EnvVar{Name: "VAULT_TOKEN", Value: "secrets-store:login"})
	_, _, err := Check(pod, defaults)
	if err == nil || !strings.Contains(err.Error(), `container "app", variable VAULT_TOKEN: secrets-store:login cannot be used with secrets-store.deckhouse.io/delivery: containerd`) {
		t.Fatalf("Check: %v", err)
	}
	pod.Annotations = annotated()
	if _, warnings, err := Check(pod, defaults); err != nil || !strings.Contains(strings.Join(warnings, "\n"), "takes the injector's store token") {
		t.Fatalf("entrypoint delivery: %v, warnings %q", err, warnings)
	}
}
