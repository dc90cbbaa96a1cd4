// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package mutate

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/deckhouse/secrets-store-integration/images/internal/injection"
	"github.com/deckhouse/secrets-store-integration/images/internal/params"
)

var opts = Options{
	InjectorImage: "registry.example/env-injector:v1", InjectorBinary: "/env-injector",
	TokenAudience: "vault", TokenExpirationSeconds: 600,
}

var defaults = params.Defaults{Address: "https://stronghold.d8-stronghold:8300", CACertPEM: "PEM"}

func TestCommand(t *testing.T) {
	img := Image{Entrypoint: []string{"/docker-entrypoint.sh"}, Cmd: []string{"nginx", "-g", "daemon off;"}}
	for _, tc := range []struct {
		name          string
		command, args []string
		img           Image
		want          []string
	}{
		{"command only", []string{"/app"}, nil, img, []string{"/app"}},
		{"command and args", []string{"/app"}, []string{"-v"}, img, []string{"/app", "-v"}},
		{"image entrypoint and cmd", nil, nil, img, []string{"/docker-entrypoint.sh", "nginx", "-g", "daemon off;"}},
		{"args replace the image's cmd", nil, []string{"nginx", "-T"}, img, []string{"/docker-entrypoint.sh", "nginx", "-T"}},
		{"cmd only", nil, nil, Image{Cmd: []string{"/bin/sh"}}, []string{"/bin/sh"}},
		{"args without entrypoint", nil, []string{"/bin/app", "serve"}, Image{Cmd: []string{"/bin/sh"}}, []string{"/bin/app", "serve"}},
		{"image parts keep their dollars", nil, nil, Image{Cmd: []string{"sh", "-c", "echo $$ $(HOME)"}}, []string{"sh", "-c", "echo $$$$ $$(HOME)"}},
		{"container parts are expanded as before", []string{"echo", "$(HOME)"}, nil, img, []string{"echo", "$(HOME)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Command(tc.command, tc.args, tc.img)
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Command = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	if _, err := Command(nil, nil, Image{}); err == nil || !strings.Contains(err.Error(), "neither") {
		t.Fatalf("nothing to run: err = %v", err)
	}
}

func annotated(kv ...string) map[string]string {
	m := map[string]string{injection.AnnotationPrefix + injection.AnnotationRole: "app"}
	for i := 0; i < len(kv); i += 2 {
		m[injection.AnnotationPrefix+kv[i]] = kv[i+1]
	}
	return m
}

func container(name, image string, command ...string) corev1.Container {
	return corev1.Container{Name: name, Image: image, Command: command}
}

// mutated checks the pod, patches it and applies the patch to its JSON, as
// the API server does.
func mutated(t *testing.T, pod *corev1.Pod, images map[string]Image) *corev1.Pod {
	t.Helper()
	s, _, err := Check(pod, defaults)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	ops, err := Patch(pod, s, opts, images)
	if err != nil {
		t.Fatalf("Patch: %v", err)
	}
	return apply(t, pod, ops)
}

func apply(t *testing.T, pod *corev1.Pod, ops []Op) *corev1.Pod {
	t.Helper()
	doc, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(ops)
	if err != nil {
		t.Fatal(err)
	}
	p, err := jsonpatch.DecodePatch(raw)
	if err != nil {
		t.Fatalf("decode patch %s: %v", raw, err)
	}
	out, err := p.Apply(doc)
	if err != nil {
		t.Fatalf("apply patch %s: %v", raw, err)
	}
	var got corev1.Pod
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	return &got
}

func envOf(c corev1.Container) map[string]string {
	m := map[string]string{}
	for _, e := range c.Env {
		m[e.Name] = e.Value
	}
	return m
}

func mountOf(c corev1.Container, volume string) (corev1.VolumeMount, bool) {
	i := slices.IndexFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == volume })
	if i < 0 {
		return corev1.VolumeMount{}, false
	}
	return c.VolumeMounts[i], true
}

func volumeOf(pod *corev1.Pod, name string) *corev1.Volume {
	i := slices.IndexFunc(pod.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == name })
	if i < 0 {
		return nil
	}
	return &pod.Spec.Volumes[i]
}

func TestPatchRewritesEveryContainer(t *testing.T) {
	grace := int64(45)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Annotations: annotated()},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: &grace,
			Volumes:                       []corev1.Volume{{Name: "data"}},
			// More init containers than containers: indices of both lists.
			InitContainers: []corev1.Container{container("migrate", "app:v1", "/migrate"), container("seed", "app:v1", "/seed"), container("wait", "app:v1", "/wait")},
			Containers: []corev1.Container{
				{Name: "web", Image: "nginx:1.27", Args: []string{"nginx", "-T"},
					Env:          []corev1.EnvVar{{Name: "DB_PASS", Value: "secrets-store:secret/data/db#password"}},
					VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}},
				container("api", "app:v1", "/api", "--port=8080"),
			},
		},
	}
	got := mutated(t, pod, map[string]Image{"nginx:1.27": {Entrypoint: []string{"/docker-entrypoint.sh"}, Cmd: []string{"nginx"}}})

	if len(got.Spec.InitContainers) != 4 || got.Spec.InitContainers[0].Name != InitContainerName {
		t.Fatalf("init containers %v: want the injector first, then migrate, seed and wait", names(got.Spec.InitContainers))
	}
	init := got.Spec.InitContainers[0]
	if want := []string{"/env-injector", "--self-copy", injection.InjectorDir}; !reflect.DeepEqual(init.Command, want) || init.Image != opts.InjectorImage {
		t.Errorf("init container runs %s %q, want %s %q", init.Image, init.Command, opts.InjectorImage, want)
	}
	sc := init.SecurityContext
	if sc == nil || !*sc.RunAsNonRoot || *sc.AllowPrivilegeEscalation || !*sc.ReadOnlyRootFilesystem || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("init container security context %+v is not restricted", sc)
	}
	if m, ok := mountOf(init, InjectorVolume); !ok || m.ReadOnly {
		t.Errorf("init container mount %+v: want the injector volume writable", m)
	}

	want := map[string][]string{
		"migrate": {"/migrate"},
		"seed":    {"/seed"},
		"wait":    {"/wait"},
		"web":     {"/docker-entrypoint.sh", "nginx", "-T"},
		"api":     {"/api", "--port=8080"},
	}
	for _, c := range append(got.Spec.InitContainers[1:], got.Spec.Containers...) {
		if !slices.Equal(c.Command, []string{injection.InjectorPath, "--"}) || !slices.Equal(c.Args, want[c.Name]) {
			t.Errorf("container %s runs %q %q, want the injector with %q", c.Name, c.Command, c.Args, want[c.Name])
		}
		env := envOf(c)
		if env[injection.EnvRole] != "app" || env[injection.EnvAddr] != defaults.Address || env[injection.EnvCACertPEM] != "PEM" ||
			env[injection.EnvTokenPath] != injection.TokenPath {
			t.Errorf("container %s env %v: want the injector's settings", c.Name, env)
		}
		for _, v := range []string{InjectorVolume, TokenVolume} {
			if m, ok := mountOf(c, v); !ok || !m.ReadOnly {
				t.Errorf("container %s: volume %s mounted %+v, want read-only", c.Name, v, m)
			}
		}
	}
	web := got.Spec.Containers[0]
	if env := envOf(web); env["DB_PASS"] != "secrets-store:secret/data/db#password" {
		t.Errorf("the app's own variables must stay: %v", env)
	}
	if _, ok := mountOf(web, "data"); !ok {
		t.Errorf("the app's own mounts must stay: %+v", web.VolumeMounts)
	}
	if volumeOf(got, "data") == nil {
		t.Errorf("the pod's own volumes must stay: %+v", got.Spec.Volumes)
	}
	if v := volumeOf(got, InjectorVolume); v == nil || v.EmptyDir == nil || v.EmptyDir.Medium != corev1.StorageMediumMemory || v.EmptyDir.SizeLimit == nil {
		t.Errorf("injector volume %+v: want a size-limited memory emptyDir", v)
	}
	tok := volumeOf(got, TokenVolume)
	if tok == nil || tok.Projected == nil || len(tok.Projected.Sources) != 1 {
		t.Fatalf("token volume %+v: want one projected token", tok)
	}
	if sat := tok.Projected.Sources[0].ServiceAccountToken; sat == nil || sat.Audience != "vault" || *sat.ExpirationSeconds != 600 || sat.Path != "token" {
		t.Errorf("projected token %+v: want audience vault, 600s, path token", sat)
	}
	// The pod's grace period reaches the injector, which uses it in the
	// watch modes only: no variable in the default mode.
	if _, ok := envOf(web)[injection.EnvGracePeriod]; ok {
		t.Errorf("grace period set without a watch mode: %v", envOf(web))
	}
}

func TestPatchSettings(t *testing.T) {
	grace := int64(45)
	for _, tc := range []struct {
		name  string
		ann   map[string]string
		check func(t *testing.T, pod *corev1.Pod, c corev1.Container)
	}{
		{"tls-secret mounts the CA", annotated("tls-secret", "vault-ca"), func(t *testing.T, pod *corev1.Pod, c corev1.Container) {
			v := volumeOf(pod, TLSVolume)
			if v == nil || v.Secret == nil || v.Secret.SecretName != "vault-ca" || len(v.Secret.Items) != 1 || v.Secret.Items[0].Key != "ca.crt" {
				t.Errorf("tls volume %+v", v)
			}
			if m, ok := mountOf(c, TLSVolume); !ok || m.MountPath != injection.TLSDir || !m.ReadOnly {
				t.Errorf("tls mount %+v", m)
			}
			if envOf(c)[injection.EnvCACert] != injection.CACertPath {
				t.Errorf("env %v: want %s=%s", envOf(c), injection.EnvCACert, injection.CACertPath)
			}
		}},
		{"env-injector-pull-policy sets the init container's imagePullPolicy", annotated("env-injector-pull-policy", "Never"), func(t *testing.T, pod *corev1.Pod, _ corev1.Container) {
			if p := pod.Spec.InitContainers[0].ImagePullPolicy; pod.Spec.InitContainers[0].Name != InitContainerName || p != corev1.PullNever {
				t.Errorf("init container %s imagePullPolicy %q, want Never", pod.Spec.InitContainers[0].Name, p)
			}
		}},
		{"own token path: no token volume", annotated("service-account-token-path", "/var/run/own/token"), func(t *testing.T, pod *corev1.Pod, c corev1.Container) {
			if volumeOf(pod, TokenVolume) != nil {
				t.Error("token volume added although the pod brings its own token")
			}
			if _, ok := mountOf(c, TokenVolume); ok {
				t.Error("token volume mounted although the pod brings its own token")
			}
			if envOf(c)[injection.EnvTokenPath] != "/var/run/own/token" {
				t.Errorf("env %v: want the pod's token path", envOf(c))
			}
		}},
		{"watch mode gets the grace period", annotated("restart-on-secret-change", "watch-for-lease"), func(t *testing.T, _ *corev1.Pod, c corev1.Container) {
			if envOf(c)[injection.EnvGracePeriod] != "45s" {
				t.Errorf("env %v: want the pod's grace period 45s", envOf(c))
			}
		}},
		{"probes stay without mutate-probes", annotated(), func(t *testing.T, _ *corev1.Pod, c corev1.Container) {
			if !slices.Equal(c.LivenessProbe.Exec.Command, []string{"/bin/check"}) {
				t.Errorf("liveness probe %q changed", c.LivenessProbe.Exec.Command)
			}
		}},
		{"mutate-probes wraps exec probes", annotated("mutate-probes", "true"), func(t *testing.T, _ *corev1.Pod, c corev1.Container) {
			if want := []string{injection.InjectorPath, injection.ProbeFlag, "--", "/bin/check"}; !slices.Equal(c.LivenessProbe.Exec.Command, want) {
				t.Errorf("liveness probe %q, want %q", c.LivenessProbe.Exec.Command, want)
			}
			if c.ReadinessProbe.Exec != nil || c.ReadinessProbe.HTTPGet == nil {
				t.Errorf("an http probe must stay as it is: %+v", c.ReadinessProbe)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := container("app", "app:v1", "/app")
			app.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"/bin/check"}}}}
			app.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready"}}}
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Annotations: tc.ann},
				Spec: corev1.PodSpec{TerminationGracePeriodSeconds: &grace, Containers: []corev1.Container{app}}}
			got := mutated(t, pod, nil)
			if len(got.Spec.InitContainers) != 1 {
				t.Fatalf("init containers %v", names(got.Spec.InitContainers))
			}
			tc.check(t, got, got.Spec.Containers[0])
		})
	}
}

func TestPatchSkipsContainers(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Annotations: annotated("skip-mutate-containers", "proxy")},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{container("app", "app:v1", "/app"), container("proxy", "envoy:v1", "/envoy")}},
	}
	got := mutated(t, pod, nil)
	if !reflect.DeepEqual(got.Spec.Containers[1], pod.Spec.Containers[1]) {
		t.Errorf("skipped container changed:\n got %+v\nwant %+v", got.Spec.Containers[1], pod.Spec.Containers[1])
	}
	if got.Spec.Containers[0].Command[0] != injection.InjectorPath {
		t.Errorf("app not rewritten: %q", got.Spec.Containers[0].Command)
	}
}

func TestPatchRefuses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		spec   corev1.PodSpec
		images map[string]Image
		want   string
	}{
		{"our volume name taken",
			corev1.PodSpec{Volumes: []corev1.Volume{{Name: TokenVolume}}, Containers: []corev1.Container{container("app", "app:v1", "/app")}},
			nil, `volume "secrets-store-token" already exists`},
		{"our mount path taken",
			corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:v1", Command: []string{"/app"},
				VolumeMounts: []corev1.VolumeMount{{Name: "x", MountPath: injection.InjectorDir}}}}},
			nil, `container "app" mounts "x" at /secrets-store/bin`},
		{"image says nothing to run",
			corev1.PodSpec{Containers: []corev1.Container{container("app", "scratch:v1")}},
			map[string]Image{"scratch:v1": {}}, `container "app" (image "scratch:v1"): neither`},
		{"image config missing",
			corev1.PodSpec{Containers: []corev1.Container{container("app", "app:v1")}},
			nil, `container "app" sets no command and the config of its image "app:v1" was not read`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Annotations: annotated()}, Spec: tc.spec}
			s, _, err := Check(pod, defaults)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Patch(pod, s, opts, tc.images); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Patch error %v, want one with %q", err, tc.want)
			}
		})
	}
}

func TestInjectedAndTargets(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		InitContainers: []corev1.Container{container("init", "busybox")},
		Containers:     []corev1.Container{container("app", "app:v1", "/app"), container("proxy", "envoy")},
	}}
	if Injected(pod) {
		t.Fatal("a fresh pod reads as injected")
	}
	want := []Target{
		{Name: "init", Image: "busybox", Init: true, Index: 0, NeedsImage: true},
		{Name: "app", Image: "app:v1", Index: 0},
	}
	if got := Targets(pod, []string{"proxy"}); !reflect.DeepEqual(got, want) {
		t.Fatalf("Targets = %+v, want %+v", got, want)
	}
	s, _, err := Check(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Annotations: annotated()}, Spec: pod.Spec}, defaults)
	if err != nil {
		t.Fatal(err)
	}
	ops, err := Patch(pod, s, opts, map[string]Image{"busybox": {Cmd: []string{"sh"}}, "envoy": {Entrypoint: []string{"/envoy"}}})
	if err != nil {
		t.Fatal(err)
	}
	if !Injected(apply(t, pod, ops)) {
		t.Fatal("a mutated pod does not read as injected: it would be mutated twice")
	}
}

func names(cs []corev1.Container) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}
