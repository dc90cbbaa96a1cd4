// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package components

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

// Container plays kubelet for one container of a pod the webhook mutated,
// as a local process: the init containers' self-copy into a folder standing
// for the memory volume, projected service-account tokens from the
// TokenRequest API written where the volume's mount points, and the
// container's command and environment from the stored spec, with the
// volumes' mount paths mapped to local folders.
type Container struct {
	// Cmd is the container's process, not started.
	Cmd *exec.Cmd
	// Dir holds the local stand-ins of the pod's volumes.
	Dir string
	// Stderr is what the started process wrote to its standard error.
	Stderr strings.Builder
}

// PrepareContainer prepares container name of pod. injector is the
// env-injector binary the init container's image would hold.
func PrepareContainer(ctx context.Context, env *testenv.Env, pod *corev1.Pod, name, injector string) (*Container, error) {
	dir, err := os.MkdirTemp("", "ssi-pod-*")
	if err != nil {
		return nil, err
	}
	c := &Container{Dir: dir}
	mounts := map[string]string{} // volume name -> local folder
	for _, v := range pod.Spec.Volumes {
		local := filepath.Join(dir, v.Name)
		if err := os.Mkdir(local, 0o777); err != nil {
			return nil, err
		}
		mounts[v.Name] = local
		if v.Projected == nil {
			continue
		}
		for _, src := range v.Projected.Sources {
			if err := writeProjectedToken(ctx, env, pod, src.ServiceAccountToken, local); err != nil {
				return nil, fmt.Errorf("volume %s: %w", v.Name, err)
			}
		}
	}
	for _, ic := range pod.Spec.InitContainers {
		if len(ic.Command) == 3 && ic.Command[1] == "--self-copy" {
			local, err := localPath(ic, mounts, ic.Command[2])
			if err != nil {
				return nil, fmt.Errorf("init container %s: %w", ic.Name, err)
			}
			if out, err := exec.CommandContext(ctx, injector, "--self-copy", local).CombinedOutput(); err != nil {
				return nil, fmt.Errorf("init container %s: %w: %s", ic.Name, err, out)
			}
		}
	}
	var ctr *corev1.Container
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			ctr = &pod.Spec.Containers[i]
		}
	}
	if ctr == nil {
		return nil, fmt.Errorf("pod %s/%s has no container %s", pod.Namespace, pod.Name, name)
	}
	argv := append(append([]string{}, ctr.Command...), ctr.Args...)
	if len(argv) == 0 {
		return nil, fmt.Errorf("container %s has no command: the test needs the webhook's", name)
	}
	if argv[0], err = localPath(*ctr, mounts, argv[0]); err != nil {
		return nil, err
	}
	environ := []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
	fromSources, err := envFromSources(ctx, env, pod.Namespace, ctr.EnvFrom)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", name, err)
	}
	environ = append(environ, fromSources...)
	for _, e := range ctr.Env {
		if e.ValueFrom != nil {
			return nil, fmt.Errorf("container %s: variable %s comes from a reference the test does not resolve", name, e.Name)
		}
		value := e.Value
		if strings.HasPrefix(value, "/") {
			if local, err := localPath(*ctr, mounts, value); err == nil {
				value = local // a file in a mounted volume, such as the token
			}
		}
		environ = append(environ, e.Name+"="+value)
	}
	c.Cmd = exec.CommandContext(ctx, argv[0], argv[1:]...)
	c.Cmd.Env = environ
	c.Cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return c, nil
}

// envFromSources is what kubelet puts into the environment for envFrom:
// every key of each ConfigMap and Secret, with the source's prefix, before
// the container's env (which wins, being later).
func envFromSources(ctx context.Context, env *testenv.Env, ns string, sources []corev1.EnvFromSource) ([]string, error) {
	var out []string
	for _, src := range sources {
		switch {
		case src.ConfigMapRef != nil:
			cm, err := env.Kube.CoreV1().ConfigMaps(ns).Get(ctx, src.ConfigMapRef.Name, metav1.GetOptions{})
			if err != nil {
				return nil, fmt.Errorf("envFrom ConfigMap %s: %w", src.ConfigMapRef.Name, err)
			}
			for k, v := range cm.Data {
				out = append(out, src.Prefix+k+"="+v)
			}
		case src.SecretRef != nil:
			sec, err := env.Kube.CoreV1().Secrets(ns).Get(ctx, src.SecretRef.Name, metav1.GetOptions{})
			if err != nil {
				return nil, fmt.Errorf("envFrom Secret %s: %w", src.SecretRef.Name, err)
			}
			for k, v := range sec.Data {
				out = append(out, src.Prefix+k+"="+string(v))
			}
		}
	}
	return out, nil
}

// Start starts the process and returns its standard output, which the
// caller reads as the container's log.
func (c *Container) Start() (io.Reader, error) {
	out, err := c.Cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c.Cmd.Stderr = &c.Stderr
	if err := c.Cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the container: %w", err)
	}
	return out, nil
}

// Kill ends a started process and waits for it.
func (c *Container) Kill() {
	_ = c.Cmd.Process.Kill()
	_ = c.Cmd.Wait()
}

// Close removes the local volumes.
func (c *Container) Close() error { return os.RemoveAll(c.Dir) }

// localPath maps a path inside the container to the local folder of the
// volume mounted there.
func localPath(ctr corev1.Container, mounts map[string]string, p string) (string, error) {
	for _, m := range ctr.VolumeMounts {
		if rest, ok := strings.CutPrefix(p, m.MountPath); ok && (rest == "" || strings.HasPrefix(rest, "/")) {
			if local, ok := mounts[m.Name]; ok {
				return local + rest, nil
			}
		}
	}
	return "", fmt.Errorf("%s is on no volume of container %s", p, ctr.Name)
}

// writeProjectedToken does kubelet's part of a projected token: a
// TokenRequest for the pod's service account with the source's audience.
func writeProjectedToken(ctx context.Context, env *testenv.Env, pod *corev1.Pod, src *corev1.ServiceAccountTokenProjection, dir string) error {
	if src == nil {
		return nil
	}
	ttl := time.Hour
	if src.ExpirationSeconds != nil {
		ttl = time.Duration(*src.ExpirationSeconds) * time.Second
	}
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	jwt, err := env.ServiceAccountToken(ctx, pod.Namespace, sa, src.Audience, ttl)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, src.Path), []byte(jwt), 0o600)
}
