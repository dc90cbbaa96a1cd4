// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package containerdenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Pod is what kubelet tells the runtime of a pod: its identity and
// annotations (NRI plugins read both).
type Pod struct {
	Name, Namespace, UID string
	Annotations          map[string]string
}

// Sandbox is a running pod sandbox.
type Sandbox struct {
	ID     string
	Config *runtimeapi.PodSandboxConfig
}

// Container is one container to create in a sandbox.
type Container struct {
	Name  string
	Image string
	// Command and Args replace the image's entrypoint and cmd when set.
	Command, Args []string
	Env           []*runtimeapi.KeyValue
}

// RunPod runs a host-network sandbox for p, as kubelet does (labels and log
// folder named the way kubelet names them).
func (r *Runtime) RunPod(ctx context.Context, p Pod) (*Sandbox, error) {
	logs := filepath.Join(r.Logs, p.Namespace+"_"+p.Name+"_"+p.UID)
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return nil, fmt.Errorf("make pod %s/%s's log folder: %w", p.Namespace, p.Name, err)
	}
	cfg := &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: p.Name, Namespace: p.Namespace, Uid: p.UID},
		// No hostname: a host-network pod shares the node's UTS namespace,
		// and kubelet leaves it empty.
		LogDirectory: logs,
		Labels: map[string]string{
			"io.kubernetes.pod.name": p.Name, "io.kubernetes.pod.namespace": p.Namespace, "io.kubernetes.pod.uid": p.UID,
		},
		Annotations: p.Annotations,
		Linux: &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE},
		}},
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	resp, err := r.Runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		return nil, fmt.Errorf("run pod sandbox %s/%s: %w", p.Namespace, p.Name, err)
	}
	return &Sandbox{ID: resp.PodSandboxId, Config: cfg}, nil
}

// ContainerConfig is kubelet's CreateContainer config of c in s: the log
// file <name>/0.log in the pod's log folder, the host network.
func ContainerConfig(s *Sandbox, c Container) *runtimeapi.ContainerConfig {
	meta := s.Config.Metadata
	return &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: c.Name},
		Image:    &runtimeapi.ImageSpec{Image: c.Image},
		Command:  c.Command,
		Args:     c.Args,
		Envs:     c.Env,
		LogPath:  filepath.Join(c.Name, "0.log"),
		Labels: map[string]string{
			"io.kubernetes.container.name": c.Name, "io.kubernetes.pod.name": meta.Name,
			"io.kubernetes.pod.namespace": meta.Namespace, "io.kubernetes.pod.uid": meta.Uid,
		},
		Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE},
		}},
	}
}

// CreateContainer creates c in s and returns its ID. The error is the CRI's
// (an NRI plugin's refusal comes back in it).
func (r *Runtime) CreateContainer(ctx context.Context, s *Sandbox, c Container) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	resp, err := r.Runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{
		PodSandboxId: s.ID, Config: ContainerConfig(s, c), SandboxConfig: s.Config,
	})
	if err != nil {
		return "", fmt.Errorf("create container %s in pod %s/%s: %w", c.Name, s.Config.Metadata.Namespace, s.Config.Metadata.Name, err)
	}
	return resp.ContainerId, nil
}

// StartContainer starts container id.
func (r *Runtime) StartContainer(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if _, err := r.Runtime.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: id}); err != nil {
		return fmt.Errorf("start container %s: %w", id, err)
	}
	return nil
}

// WaitExited polls container id until it has exited and returns its exit
// code.
func (r *Runtime) WaitExited(ctx context.Context, id string) (int32, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	for {
		st, err := r.Runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
		if err != nil {
			return 0, fmt.Errorf("status of container %s: %w", id, err)
		}
		if st.Status.State == runtimeapi.ContainerState_CONTAINER_EXITED {
			return st.Status.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("container %s has not exited (state %s): %w", id, st.Status.State, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Output is what container name of s wrote to its standard output, line by
// line, read from the CRI log file containerd wrote.
func (r *Runtime) Output(s *Sandbox, name string) ([]string, error) {
	path := filepath.Join(s.Config.LogDirectory, name, "0.log")
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read container %s's log: %w", name, err)
	}
	defer f.Close()
	var lines []string
	partial := ""
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// <RFC3339Nano time> <stream> <P|F> <text>: P is a piece of a
		// longer line, F its end.
		parts := strings.SplitN(sc.Text(), " ", 4)
		if len(parts) < 3 {
			return nil, fmt.Errorf("container %s's log %s: malformed line %q", name, path, sc.Text())
		}
		if parts[1] != "stdout" {
			continue
		}
		text := ""
		if len(parts) == 4 {
			text = parts[3]
		}
		partial += text
		if parts[2] == "F" {
			lines = append(lines, partial)
			partial = ""
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read container %s's log: %w", name, err)
	}
	return lines, nil
}

// RunContainer creates c in s, starts it, waits for it to exit and returns
// its output. A non-zero exit is an error.
func (r *Runtime) RunContainer(ctx context.Context, s *Sandbox, c Container) ([]string, error) {
	id, err := r.CreateContainer(ctx, s, c)
	if err != nil {
		return nil, err
	}
	if err := r.StartContainer(ctx, id); err != nil {
		return nil, err
	}
	code, err := r.WaitExited(ctx, id)
	if err != nil {
		return nil, err
	}
	out, err := r.Output(s, c.Name)
	if err != nil {
		return nil, err
	}
	if code != 0 {
		return out, fmt.Errorf("container %s exited with %d", c.Name, code)
	}
	return out, nil
}

// Containers lists the containers of sandbox s, in any state.
func (r *Runtime) Containers(ctx context.Context, s *Sandbox) ([]*runtimeapi.Container, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	resp, err := r.Runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{
		Filter: &runtimeapi.ContainerFilter{PodSandboxId: s.ID},
	})
	if err != nil {
		return nil, fmt.Errorf("list containers of sandbox %s: %w", s.ID, err)
	}
	return resp.Containers, nil
}

// RemovePod stops and removes sandbox id with its containers, as kubelet
// does when a pod goes.
func (r *Runtime) RemovePod(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if _, err := r.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: id}); err != nil {
		return fmt.Errorf("stop pod sandbox %s: %w", id, err)
	}
	if _, err := r.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id}); err != nil {
		return fmt.Errorf("remove pod sandbox %s: %w", id, err)
	}
	return nil
}

// RemoveAllPods removes every sandbox.
func (r *Runtime) RemoveAllPods(ctx context.Context) error {
	lctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	resp, err := r.Runtime.ListPodSandbox(lctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		return fmt.Errorf("list pod sandboxes: %w", err)
	}
	var errs []error
	for _, s := range resp.Items {
		errs = append(errs, r.RemovePod(ctx, s.Id))
	}
	return errors.Join(errs...)
}
