// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package mutate turns an opted-in pod into one whose containers start
// through the env injector: it checks the pod's annotations and references,
// lists the containers to rewrite, and writes the JSON patch. It does no
// I/O: the entrypoints of images come in from the caller.
package mutate

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/deckhouse/secrets-store-integration/images/internal/injection"
)

// Names the webhook adds to a pod. A pod that already has the init
// container was mutated before and is left alone.
const (
	InitContainerName = "secrets-store-env-injector"
	InjectorVolume    = "secrets-store-injector"
	TokenVolume       = injection.TokenVolume
	TLSVolume         = "secrets-store-tls"
	// caKey is the tls-secret's key with the store's CA bundle.
	caKey = "ca.crt"
)

// injectorVolumeSize bounds the memory the injector's copy may take: the
// static binary is a few MiB, and tmpfs pages count against the pod.
var injectorVolumeSize = resource.MustParse("64Mi")

// Options are the webhook's own settings of a mutation.
type Options struct {
	// InjectorImage holds the env injector at InjectorBinary.
	InjectorImage, InjectorBinary string
	// InjectorPullPolicy is the init container's imagePullPolicy; empty
	// lets the API server default it.
	InjectorPullPolicy corev1.PullPolicy
	// TokenAudience and TokenExpirationSeconds shape the projected
	// service-account token the injector logs in with.
	TokenAudience          string
	TokenExpirationSeconds int64
}

// Image is what a container image runs when the container sets no command:
// its config's ENTRYPOINT and CMD.
type Image struct {
	Entrypoint, Cmd []string
}

// Target is a container the webhook rewrites.
type Target struct {
	Name, Image string
	// Init: an init container; Index is its place in its list.
	Init  bool
	Index int
	// NeedsImage: the container sets no command, so what it runs comes
	// from its image's config.
	NeedsImage bool
}

// Injected reports whether the pod already carries the injector's init
// container: a pod mutated before (or an author who wrote it by hand).
func Injected(pod *corev1.Pod) bool {
	return slices.ContainsFunc(pod.Spec.InitContainers, func(c corev1.Container) bool {
		return c.Name == InitContainerName
	})
}

// Targets lists the containers and init containers to rewrite: all but
// those named in skip.
func Targets(pod *corev1.Pod, skip []string) []Target {
	var out []Target
	add := func(cs []corev1.Container, init bool) {
		for i, c := range cs {
			if slices.Contains(skip, c.Name) {
				continue
			}
			out = append(out, Target{Name: c.Name, Image: c.Image, Init: init, Index: i, NeedsImage: len(c.Command) == 0})
		}
	}
	add(pod.Spec.InitContainers, true)
	add(pod.Spec.Containers, false)
	return out
}

// Op is one JSON patch (RFC 6902) operation.
type Op struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// Patch returns the operations that make pod start its containers through
// the injector. images holds the config of every image a target with
// NeedsImage runs, by image reference.
//
// The patch adds to lists and sets single fields; it never replaces a list
// it read, so fields of the pod that this webhook's API types do not know
// (a newer cluster) pass through untouched.
func Patch(pod *corev1.Pod, s injection.Settings, o Options, images map[string]Image) ([]Op, error) {
	cfg := s.Config
	if !s.TokenPathSet {
		cfg.TokenPath = injection.TokenPath
	}
	if s.TLSSecret != "" {
		cfg.CACertFile = injection.CACertPath
	}
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil && *g >= 0 {
		cfg.GracePeriod = time.Duration(*g) * time.Second
	}
	vols := volumes(s, o)
	if err := checkFree(pod, vols); err != nil {
		return nil, err
	}
	var env []corev1.EnvVar
	for _, v := range cfg.Env() {
		env = append(env, corev1.EnvVar{Name: v.Name, Value: v.Value})
	}
	mounts := mountsFor(vols)

	var ops []Op
	var errs []error
	// Containers first, by the indices as they are: the init container
	// goes in last, at the front of its list, shifting the others.
	for _, t := range Targets(pod, s.SkipContainers) {
		list, field := pod.Spec.Containers, "/spec/containers/"
		if t.Init {
			list, field = pod.Spec.InitContainers, "/spec/initContainers/"
		}
		c, base := &list[t.Index], field+strconv.Itoa(t.Index)
		img, ok := images[c.Image]
		if t.NeedsImage && !ok {
			errs = append(errs, fmt.Errorf("container %q sets no command and the config of its image %q was not read", c.Name, c.Image))
			continue
		}
		cops, err := rewrite(c, base, img, env, mounts, s.MutateProbes)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ops = append(ops, cops...)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	ops = appendAll(ops, "/spec/volumes", len(pod.Spec.Volumes), vols)
	init := initContainer(o)
	if s.PullPolicy != "" {
		init.ImagePullPolicy = corev1.PullPolicy(s.PullPolicy)
	}
	if len(pod.Spec.InitContainers) == 0 {
		ops = append(ops, Op{Op: "add", Path: "/spec/initContainers", Value: []corev1.Container{init}})
	} else {
		ops = append(ops, Op{Op: "add", Path: "/spec/initContainers/0", Value: init})
	}
	return ops, nil
}

// rewrite makes container c (at JSON path base) start the injector with
// its original command line as arguments.
func rewrite(c *corev1.Container, base string, img Image, env []corev1.EnvVar, mounts []corev1.VolumeMount, probes bool) ([]Op, error) {
	argv, err := Command(c.Command, c.Args, img)
	if err != nil {
		return nil, fmt.Errorf("container %q (image %q): %w", c.Name, c.Image, err)
	}
	ops := []Op{
		{Op: "add", Path: base + "/command", Value: []string{injection.InjectorPath, "--"}},
		{Op: "add", Path: base + "/args", Value: argv},
	}
	ops = appendAll(ops, base+"/env", len(c.Env), env)
	ops = appendAll(ops, base+"/volumeMounts", len(c.VolumeMounts), mounts)
	if probes {
		for _, p := range []struct {
			field string
			probe *corev1.Probe
		}{{"livenessProbe", c.LivenessProbe}, {"readinessProbe", c.ReadinessProbe}, {"startupProbe", c.StartupProbe}} {
			if p.probe != nil && p.probe.Exec != nil && len(p.probe.Exec.Command) > 0 {
				cmd := append([]string{injection.InjectorPath, injection.ProbeFlag, "--"}, p.probe.Exec.Command...)
				ops = append(ops, Op{Op: "add", Path: base + "/" + p.field + "/exec/command", Value: cmd})
			}
		}
	}
	return ops, nil
}

// Command is the command line a container runs, by Kubernetes' rules: its
// command and args when it sets a command; else the image's ENTRYPOINT
// followed by the container's args, or the image's CMD when it sets none.
//
// Parts from the image are escaped for Kubernetes' $(VAR) expansion: they
// become args of the rewritten container, which kubelet expands, while
// the runtime would have run them as they are.
func Command(command, args []string, img Image) ([]string, error) {
	if len(command) > 0 {
		return slices.Concat(command, args), nil
	}
	argv := escape(img.Entrypoint)
	if len(args) > 0 {
		argv = append(argv, args...)
	} else {
		argv = append(argv, escape(img.Cmd)...)
	}
	if len(argv) == 0 {
		return nil, errors.New("neither the container nor its image says what to run (no command, args, ENTRYPOINT or CMD)")
	}
	return argv, nil
}

// escape doubles every '$', which kubelet's expansion turns back into one.
func escape(parts []string) []string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = strings.ReplaceAll(p, "$", "$$")
	}
	return out
}

// appendAll adds items to the list at path, which holds n items now.
func appendAll[T any](ops []Op, path string, n int, items []T) []Op {
	if len(items) == 0 {
		return ops
	}
	if n == 0 {
		return append(ops, Op{Op: "add", Path: path, Value: items})
	}
	for _, item := range items {
		ops = append(ops, Op{Op: "add", Path: path + "/-", Value: item})
	}
	return ops
}

// volume is one volume the webhook adds and where containers mount it.
type volume struct {
	corev1.Volume
	mountPath string
}

func volumes(s injection.Settings, o Options) []volume {
	vols := []volume{{
		Volume: corev1.Volume{Name: InjectorVolume, VolumeSource: corev1.VolumeSource{
			EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: &injectorVolumeSize},
		}},
		mountPath: injection.InjectorDir,
	}}
	if !s.TokenPathSet {
		vols = append(vols, tokenVolume(o))
	}
	if s.TLSSecret != "" {
		vols = append(vols, volume{
			Volume: corev1.Volume{Name: TLSVolume, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
				SecretName: s.TLSSecret, Items: []corev1.KeyToPath{{Key: caKey, Path: caKey}},
			}}},
			mountPath: injection.TLSDir,
		})
	}
	return vols
}

// tokenVolume is the projected service-account token with the store's
// audience that the pod logs in with.
func tokenVolume(o Options) volume {
	expiry := o.TokenExpirationSeconds
	return volume{
		Volume: corev1.Volume{Name: TokenVolume, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
			Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{
				Audience: o.TokenAudience, ExpirationSeconds: &expiry, Path: injection.TokenFile,
			}}},
		}}},
		mountPath: injection.TokenDir,
	}
}

func mountsFor(vols []volume) []corev1.VolumeMount {
	out := make([]corev1.VolumeMount, len(vols))
	for i, v := range vols {
		// Read-only everywhere: an app must not swap the injector or the
		// token other containers start with.
		out[i] = corev1.VolumeMount{Name: v.Name, MountPath: v.mountPath, ReadOnly: true}
	}
	return out
}

// checkFree refuses a pod that already uses a name or mount path the
// webhook adds; the API server's own message would not say why.
func checkFree(pod *corev1.Pod, vols []volume) error {
	var errs []error
	for _, v := range vols {
		if slices.ContainsFunc(pod.Spec.Volumes, func(pv corev1.Volume) bool { return pv.Name == v.Name }) {
			errs = append(errs, fmt.Errorf("volume %q already exists; the injection adds a volume of that name", v.Name))
		}
	}
	for _, c := range slices.Concat(pod.Spec.InitContainers, pod.Spec.Containers) {
		for _, m := range c.VolumeMounts {
			for _, v := range vols {
				if m.MountPath == v.mountPath {
					errs = append(errs, fmt.Errorf("container %q mounts %q at %s, where the injection mounts its own volume", c.Name, m.Name, v.mountPath))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// initContainer copies the injector into the shared memory volume. It runs
// first and restricted: it only copies one file.
func initContainer(o Options) corev1.Container {
	no, yes, nobody := false, true, int64(65534)
	return corev1.Container{
		Name:            InitContainerName,
		Image:           o.InjectorImage,
		ImagePullPolicy: o.InjectorPullPolicy,
		Command:         []string{o.InjectorBinary, injection.SelfCopyFlag, injection.InjectorDir},
		VolumeMounts:    []corev1.VolumeMount{{Name: InjectorVolume, MountPath: injection.InjectorDir}},
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
		},
		SecurityContext: &corev1.SecurityContext{
			// A fixed non-root user: the injector image need not declare
			// one, and runAsNonRoot alone would refuse an image without.
			RunAsUser: &nobody, RunAsGroup: &nobody, RunAsNonRoot: &yes,
			AllowPrivilegeEscalation: &no, ReadOnlyRootFilesystem: &yes,
			Capabilities:   &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
}
