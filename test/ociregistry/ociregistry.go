// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package ociregistry serves a private OCI registry in the test process, for
// the webhook's image lookups: images and indexes pushed by the test, pull
// secrets for it, and a hook to play a hostile or broken registry.
package ociregistry

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Registry is a real OCI registry (go-containerregistry's) served in this
// process over TLS on loopback, private: every request needs its basic-auth
// credentials, as a company registry would.
type Registry struct {
	// Host is host:port, the prefix of its image references.
	Host string
	// CAFile holds the PEM certificate of its TLS server, for clients to
	// trust.
	CAFile             string
	Username, Password string

	srv       *httptest.Server
	manifests atomic.Int64
	intercept atomic.Pointer[func(http.ResponseWriter, *http.Request) bool]
}

// Start serves a registry and writes its CA into dir. Close it.
func Start(dir string) (*Registry, error) {
	r := &Registry{Username: "puller", Password: "registry-password"}
	// The registry logs each request to stderr by default.
	oci := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	r.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if f := r.intercept.Load(); f != nil && (*f)(w, req) {
			return
		}
		if u, p, ok := req.BasicAuth(); !ok || u != r.Username || p != r.Password {
			w.Header().Set("WWW-Authenticate", `Basic realm="test registry"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`))
			return
		}
		if req.Method == http.MethodGet && strings.Contains(req.URL.Path, "/manifests/") {
			r.manifests.Add(1)
		}
		oci.ServeHTTP(w, req)
	}))
	r.Host = strings.TrimPrefix(r.srv.URL, "https://")
	r.CAFile = filepath.Join(dir, "registry-ca.crt")
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.srv.Certificate().Raw})
	if err := os.WriteFile(r.CAFile, ca, 0o600); err != nil {
		r.srv.Close()
		return nil, fmt.Errorf("write registry CA: %w", err)
	}
	return r, nil
}

// Intercept plays a hostile or broken registry: f sees every request first
// and answers it itself when it returns true. nil restores the registry.
func (r *Registry) Intercept(f func(http.ResponseWriter, *http.Request) bool) {
	if f == nil {
		r.intercept.Store(nil)
		return
	}
	r.intercept.Store(&f)
}

// Close stops the registry.
func (r *Registry) Close() { r.srv.Close() }

// ManifestReads counts authenticated manifest GETs: one per image config
// lookup of a single-platform image, two through an index.
func (r *Registry) ManifestReads() int64 { return r.manifests.Load() }

// Push writes a small random image whose config runs cfg's Entrypoint and
// Cmd to Host/repo and returns the full reference.
func (r *Registry) Push(repo string, cfg v1.Config) (string, error) {
	img, err := imageWith(cfg)
	if err != nil {
		return "", err
	}
	return r.write(repo, func(ref name.Reference, opts ...remote.Option) error { return remote.Write(ref, img, opts...) })
}

// PushIndex writes a multi-platform image: one image per platform
// ("linux/arm64") with its config.
func (r *Registry) PushIndex(repo string, platforms map[string]v1.Config) (string, error) {
	idx := v1.ImageIndex(empty.Index)
	for platform, cfg := range platforms {
		p, err := v1.ParsePlatform(platform)
		if err != nil {
			return "", err
		}
		img, err := imageWith(cfg)
		if err != nil {
			return "", err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: p}})
	}
	return r.write(repo, func(ref name.Reference, opts ...remote.Option) error { return remote.WriteIndex(ref, idx, opts...) })
}

// write uploads to Host/repo with put, as the registry's user.
func (r *Registry) write(repo string, put func(name.Reference, ...remote.Option) error) (string, error) {
	ref, err := name.ParseReference(r.Host + "/" + repo)
	if err != nil {
		return "", err
	}
	if err := put(ref, r.writeOptions()...); err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	return ref.String(), nil
}

func (r *Registry) writeOptions() []remote.Option {
	return []remote.Option{
		remote.WithAuth(&authn.Basic{Username: r.Username, Password: r.Password}),
		remote.WithTransport(r.srv.Client().Transport),
	}
}

func imageWith(cfg v1.Config) (v1.Image, error) {
	img, err := random.Image(256, 1)
	if err != nil {
		return nil, fmt.Errorf("make random image: %w", err)
	}
	img, err = mutate.Config(img, cfg)
	if err != nil {
		return nil, fmt.Errorf("set image config: %w", err)
	}
	return img, nil
}

// PullSecret is a kubernetes.io/dockerconfigjson Secret ns/name with the
// registry's credentials, as `kubectl create secret docker-registry` makes.
func (r *Registry) PullSecret(ns, name string) *corev1.Secret {
	auth := map[string]any{"auths": map[string]any{r.Host: map[string]string{
		"username": r.Username, "password": r.Password,
	}}}
	data, err := json.Marshal(auth)
	if err != nil {
		panic(err) // a map of strings always encodes
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: data},
	}
}
