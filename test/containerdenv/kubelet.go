// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package containerdenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// PodOf is what kubelet passes to the runtime of a Pod object.
func PodOf(p *corev1.Pod) Pod {
	return Pod{Name: p.Name, Namespace: p.Namespace, UID: string(p.UID), Annotations: p.Annotations}
}

// ContainerOf is kubelet's CreateContainer input for container name of p:
// its image, command, args and literal env values (valueFrom is not
// supported here).
func ContainerOf(p *corev1.Pod, name string) (Container, error) {
	for _, c := range p.Spec.Containers {
		if c.Name != name {
			continue
		}
		var env []*runtimeapi.KeyValue
		for _, e := range c.Env {
			if e.ValueFrom != nil {
				return Container{}, fmt.Errorf("pod %s/%s container %s: env %s: valueFrom is not supported by this test kubelet", p.Namespace, p.Name, name, e.Name)
			}
			env = append(env, &runtimeapi.KeyValue{Key: e.Name, Value: []byte(e.Value)})
		}
		return Container{Name: c.Name, Image: c.Image, Command: c.Command, Args: c.Args, Env: env}, nil
	}
	return Container{}, fmt.Errorf("pod %s/%s has no container %s", p.Namespace, p.Name, name)
}

// WriteProjectedTokens does kubelet's part for every service-account token
// of p's projected volumes: a token bound to the Pod from the TokenRequest
// API, written under <KubeletRoot>/pods/<uid>/volumes/kubernetes.io~projected/<volume>/
// the way kubelet's atomic writer writes: the files in a ..<timestamp>
// folder, ..data a symlink to it, each file a symlink through ..data.
func (r *Runtime) WriteProjectedTokens(ctx context.Context, kube kubernetes.Interface, p *corev1.Pod) error {
	for _, v := range p.Spec.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, src := range v.Projected.Sources {
			if src.ServiceAccountToken == nil {
				continue
			}
			token, err := boundToken(ctx, kube, p, src.ServiceAccountToken)
			if err != nil {
				return fmt.Errorf("volume %s: %w", v.Name, err)
			}
			if err := atomicWrite(r.VolumeDir(p, v.Name), src.ServiceAccountToken.Path, []byte(token)); err != nil {
				return fmt.Errorf("volume %s: %w", v.Name, err)
			}
		}
	}
	return nil
}

// VolumeDir is where kubelet keeps projected volume name of p on the node.
func (r *Runtime) VolumeDir(p *corev1.Pod, name string) string {
	return filepath.Join(r.KubeletRoot, "pods", string(p.UID), "volumes", "kubernetes.io~projected", name)
}

// boundToken asks the TokenRequest API for a token of p's service account
// bound to p, as kubelet does for a projected token.
func boundToken(ctx context.Context, kube kubernetes.Interface, p *corev1.Pod, src *corev1.ServiceAccountTokenProjection) (string, error) {
	sa := p.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	seconds := int64(time.Hour / time.Second)
	if src.ExpirationSeconds != nil {
		seconds = *src.ExpirationSeconds
	}
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: &seconds,
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: p.Name, UID: p.UID},
	}}
	if src.Audience != "" {
		req.Spec.Audiences = []string{src.Audience}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := kube.CoreV1().ServiceAccounts(p.Namespace).CreateToken(ctx, sa, req, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("request token of serviceaccount %s/%s bound to pod %s (audience %q): %w", p.Namespace, sa, p.Name, src.Audience, err)
	}
	return resp.Status.Token, nil
}

// atomicWrite lays file name out in dir as kubelet's atomic writer does.
func atomicWrite(dir, name string, data []byte) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	ts, err := os.MkdirTemp(dir, ".."+time.Now().UTC().Format("2006_01_02_15_04_05."))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(ts, name), data, 0o600); err != nil {
		return err
	}
	tmp := filepath.Join(dir, "..data_tmp")
	if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		return err
	}
	link := filepath.Join(dir, name)
	if _, err := os.Lstat(link); err == nil {
		return nil
	}
	return os.Symlink(filepath.Join("..data", name), link)
}
