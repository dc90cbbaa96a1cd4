// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package containerdenv

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

// The images the runtime holds: one layer with the static guest program,
// run as "guest pause" or "guest env".
const (
	PauseImage = "localhost/ssi/pause:test"
	EnvImage   = "localhost/ssi/printenv:test"
)

// criNamespace is containerd's namespace of the CRI's images and containers.
const criNamespace = "k8s.io"

// importImages builds the guest program, packs the two images as docker
// archives and imports them into the CRI namespace with ctr, unpacked for
// the CRI's snapshotter.
func (r *Runtime) importImages(ctx context.Context, ctr string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	dir := filepath.Join(r.Dir, "images")
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("make the images' folder: %w", err)
	}
	guest := filepath.Join(dir, "guest")
	if err := buildGuest(ctx, guest); err != nil {
		return err
	}
	for _, img := range []struct{ ref, mode string }{{PauseImage, "pause"}, {EnvImage, "env"}} {
		archive := filepath.Join(dir, img.mode+".tar")
		if err := writeImage(archive, img.ref, guest, img.mode); err != nil {
			return err
		}
		cmd := exec.CommandContext(ctx, ctr, "--address", r.Socket, "--namespace", criNamespace,
			"images", "import", "--snapshotter", r.Snapshotter, archive)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("import image %s into containerd: %w: %s", img.ref, err, out)
		}
		if err := r.waitImage(ctx, img.ref); err != nil {
			return err
		}
	}
	return nil
}

// waitImage returns once the CRI's image service knows ref: it learns of
// images imported into its namespace from containerd's events.
func (r *Runtime) waitImage(ctx context.Context, ref string) error {
	for {
		st, err := r.Images.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: ref}})
		if err != nil {
			return fmt.Errorf("status of image %s: %w", ref, err)
		}
		if st.Image != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the CRI does not list image %s: %w", ref, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// buildGuest compiles containerdenv/guest static, as an image's only file.
func buildGuest(ctx context.Context, out string) error {
	root, err := testenv.RepoRoot()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out,
		"github.com/deckhouse/secrets-store-integration/test/containerdenv/guest")
	cmd.Dir = filepath.Join(root, "test")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build the guest program: %w\n%s", err, b)
	}
	return nil
}

// writeImage writes image ref, running "/guest mode", as a docker archive.
func writeImage(archive, ref, guest, mode string) error {
	layer, err := fileLayer(guest, "guest")
	if err != nil {
		return err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return fmt.Errorf("image %s: %w", ref, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("image %s: %w", ref, err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config = v1.Config{Entrypoint: []string{"/guest", mode}, Env: []string{"PATH=/"}}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return fmt.Errorf("image %s: %w", ref, err)
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("image %s: %w", ref, err)
	}
	if err := tarball.WriteToFile(archive, tag, img); err != nil {
		return fmt.Errorf("write image %s: %w", ref, err)
	}
	return nil
}

// fileLayer is a layer holding one executable file at /name.
func fileLayer(path, name string) (v1.Layer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(b); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		return nil, fmt.Errorf("layer of %s: %w", path, err)
	}
	return layer, nil
}
