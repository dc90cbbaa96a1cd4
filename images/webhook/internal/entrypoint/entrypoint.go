// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package entrypoint reads what a container image runs (its config's
// ENTRYPOINT and CMD) from the image's registry, as kubelet would pull it:
// with the pod's and its service account's pull secrets, for the pod's
// platform, over verified TLS, within a deadline. Configs are cached by
// reference, platform and credential scope.
package entrypoint

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	k8schain "github.com/google/go-containerregistry/pkg/authn/kubernetes"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/singleflight"
	"k8s.io/client-go/kubernetes"

	"github.com/deckhouse/secrets-store-integration/images/webhook/internal/mutate"
)

// Node labels that say a node's platform, as a pod's nodeSelector names them.
const (
	LabelOS   = "kubernetes.io/os"
	LabelArch = "kubernetes.io/arch"
)

// Results of registry lookups, for metrics.
const (
	ResultOK          = "ok"
	ResultDenied      = "denied"      // 401 or 403: missing or wrong credentials
	ResultNotFound    = "not_found"   // no such repository, tag or platform
	ResultTimeout     = "timeout"     // the deadline passed
	ResultCredentials = "credentials" // the pull secrets could not be read from the API
	ResultTLS         = "tls"         // the registry's certificate is not trusted or the handshake failed
	ResultRedirect    = "redirect"    // the registry redirected where lookups may not go
	ResultError       = "error"
)

// Observer is told of every registry lookup and cache access.
type Observer interface {
	RegistryLookup(result string, took time.Duration)
	ImageCache(hit bool)
}

// Config of a Resolver.
type Config struct {
	// Client reads service accounts and pull secrets.
	Client kubernetes.Interface
	// Transport reaches registries; NewTransport makes the usual one.
	Transport http.RoundTripper
	// DefaultPlatform is used where the pod's nodeSelector names none.
	DefaultPlatform v1.Platform
	// Timeout bounds one lookup, credentials included.
	Timeout time.Duration
	// CacheSize and CacheTTL bound the cache; either zero turns it off.
	CacheSize int
	CacheTTL  time.Duration
	Observer  Observer
	// Now is the clock of the cache; default time.Now.
	Now func() time.Time
}

// Request is one image of one pod.
type Request struct {
	Image        string
	NodeSelector map[string]string
	// Namespace, ServiceAccount and PullSecrets are whose credentials the
	// lookup uses, as kubelet's pull would.
	Namespace, ServiceAccount string
	PullSecrets               []string
}

// Resolver reads image configs.
type Resolver struct {
	c        Config
	cache    *cache
	inflight singleflight.Group
}

// New makes a Resolver.
func New(c Config) *Resolver {
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Resolver{c: c, cache: newCache(c.CacheSize, c.CacheTTL, c.Now)}
}

// Error is a failed lookup; Result classifies it for metrics. Its message
// never holds what a registry wrote in a response body: the message goes
// back to the API server (a denial anyone creating pods reads) and into the
// webhook's log, and a registry's error body is the registry's, not ours,
// to publish. Err is built by classify from the status code and from errors
// of this side of the connection (TLS, DNS, dial) only.
type Error struct {
	Result string
	Err    error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Resolve returns the ENTRYPOINT and CMD of req's image for the pod's
// platform. Lookups of the same key at the same time share one request.
func (r *Resolver) Resolve(ctx context.Context, req Request) (mutate.Image, error) {
	ref, err := name.ParseReference(req.Image)
	if err != nil {
		return mutate.Image{}, &Error{Result: ResultError, Err: fmt.Errorf("parse image reference: %w", err)}
	}
	platform := Platform(req.NodeSelector, r.c.DefaultPlatform)
	k := key{ref: ref.Name(), platform: platform.String(), scope: scope(req)}
	if img, ok := r.cache.get(k); ok {
		r.c.Observer.ImageCache(true)
		return img, nil
	}
	r.c.Observer.ImageCache(false)
	// The shared lookup runs on its own deadline: the first caller going
	// away must not fail the others waiting for the same image.
	ch := r.inflight.DoChan(k.ref+"\x00"+k.platform+"\x00"+k.scope, func() (any, error) {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.c.Timeout)
		defer cancel()
		start := time.Now()
		img, err := r.fetch(lctx, ref, platform, req)
		result := ResultOK
		if err != nil {
			result = err.(*Error).Result
		}
		r.c.Observer.RegistryLookup(result, time.Since(start))
		if err != nil {
			return nil, err
		}
		r.cache.add(k, img)
		return img, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return mutate.Image{}, res.Err
		}
		return res.Val.(mutate.Image), nil
	case <-ctx.Done():
		return mutate.Image{}, &Error{Result: ResultTimeout, Err: fmt.Errorf("read config of %s: %w", ref.Name(), ctx.Err())}
	}
}

// fetch reads the image's config from its registry; every error is an *Error.
func (r *Resolver) fetch(ctx context.Context, ref name.Reference, platform v1.Platform, req Request) (mutate.Image, error) {
	keys, err := k8schain.New(ctx, r.c.Client, k8schain.Options{
		Namespace: req.Namespace, ServiceAccountName: req.ServiceAccount, ImagePullSecrets: req.PullSecrets,
	})
	if err != nil {
		return mutate.Image{}, &Error{Result: ResultCredentials, Err: fmt.Errorf("read pull secrets of namespace %s: %w", req.Namespace, err)}
	}
	img, err := remote.Image(ref, remote.WithContext(ctx), remote.WithAuthFromKeychain(keys),
		remote.WithPlatform(platform), remote.WithTransport(r.c.Transport))
	if err != nil {
		return mutate.Image{}, r.classify(ctx, fmt.Sprintf("read manifest of %s for %s", ref.Name(), platform), err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return mutate.Image{}, r.classify(ctx, fmt.Sprintf("read config of %s for %s", ref.Name(), platform), err)
	}
	return mutate.Image{Entrypoint: cfg.Config.Entrypoint, Cmd: cfg.Config.Cmd}, nil
}

// classify turns err of doing what into an *Error whose message is ours:
// a class, the HTTP status, or an error of this side of the connection.
// Anything else (a registry's error body, a manifest it sent that does not
// parse) is summed up, never quoted.
func (r *Resolver) classify(ctx context.Context, what string, err error) *Error {
	var (
		te      *transport.Error
		refused *refusedError
		netErr  net.Error
	)
	fail := func(result, format string, args ...any) *Error {
		return &Error{Result: result, Err: fmt.Errorf("%s: %s", what, fmt.Sprintf(format, args...))}
	}
	switch {
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout():
		return fail(ResultTimeout, "timeout: the registry did not answer within %s", r.c.Timeout)
	case tlsFailure(err) != "":
		// Before refusals: for a loopback registry whose TLS fails ggcr
		// also tries plain http, which is refused; the TLS error is the
		// cause.
		return fail(ResultTLS, "TLS: %s", tlsFailure(err))
	case errors.As(err, &refused):
		return fail(refused.result, "%s", refused.msg)
	case errors.As(err, &te):
		status := fmt.Sprintf("the registry answered %d %s", te.StatusCode, http.StatusText(te.StatusCode))
		switch te.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return fail(ResultDenied, "unauthorized: %s (pull secrets missing or refused)", status)
		case http.StatusNotFound:
			return fail(ResultNotFound, "not found: %s", status)
		}
		return fail(ResultError, "%s", status)
	case strings.Contains(err.Error(), "no child with platform"):
		// ggcr's own message; the platform is ours, not the registry's.
		return fail(ResultNotFound, "not found: the image has no manifest for this platform")
	}
	var (
		dnsErr *net.DNSError
		opErr  *net.OpError
	)
	switch {
	case errors.As(err, &dnsErr):
		return fail(ResultError, "cannot reach the registry: %s", dnsErr)
	case errors.As(err, &opErr):
		return fail(ResultError, "cannot reach the registry: %s", opErr)
	}
	return fail(ResultError, "the registry's answer is not a usable image manifest or config")
}

// tlsFailure describes a failed TLS handshake from this side's point of
// view (untrusted or mismatched certificate), or is empty.
func tlsFailure(err error) string {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
		record   tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &unknown):
		return unknown.Error()
	case errors.As(err, &hostname):
		return hostname.Error()
	case errors.As(err, &invalid):
		return invalid.Error()
	case errors.As(err, &verify):
		return "certificate verification failed"
	case errors.As(err, &record):
		return "the registry does not speak TLS"
	}
	return ""
}

// scope names the credentials a lookup may use: the namespace, the
// service account (whose pull secrets count) and the pod's pull secrets.
func scope(req Request) string {
	secrets := slices.Clone(req.PullSecrets)
	slices.Sort(secrets)
	return req.Namespace + "/" + req.ServiceAccount + "/" + strings.Join(secrets, ",")
}

// Platform is the platform a pod runs on as far as its nodeSelector says;
// what it leaves open comes from def.
func Platform(nodeSelector map[string]string, def v1.Platform) v1.Platform {
	p := v1.Platform{OS: def.OS, Architecture: def.Architecture, Variant: def.Variant}
	if os, ok := nodeSelector[LabelOS]; ok {
		p.OS = os
	}
	if arch, ok := nodeSelector[LabelArch]; ok && arch != p.Architecture {
		p.Architecture, p.Variant = arch, ""
	}
	return p
}

// NewTransport reaches registries over TLS only, verified against the
// system roots plus the PEM bundle in caFile (if any). go-containerregistry
// falls back to plain http for registries on loopback and private
// addresses; this transport refuses that, so pull secrets never cross the
// network in clear.
//
// It also decides where a registry may redirect a lookup. A redirect to the
// same host:port is followed. A redirect to another host is refused, except
// for a blob download (the image config): registries commonly hand blobs out
// from a storage host (Docker Hub from its CDN, Harbor or GitLab from S3),
// the blob is content-addressed and its digest is checked before use, and
// the request that follows carries no credentials (refused if it did).
// Manifests, the /v2/ ping and token requests never follow a redirect to
// another host: that is where credentials go and where what the image runs
// is decided.
func NewTransport(caFile string) (http.RoundTripper, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("read registry CA: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("registry CA %s holds no PEM certificate", caFile)
		}
	}
	t := remote.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return guarded{t}, nil
}

// refusedError is a request this side refused to send.
type refusedError struct{ result, msg string }

func (e *refusedError) Error() string { return e.msg }

// blobPath is the path of a blob download in the registry API.
var blobPath = regexp.MustCompile(`^/v2/.+/blobs/[a-z0-9]+:[a-f0-9]+$`)

type guarded struct{ next http.RoundTripper }

func (g guarded) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" {
		return nil, &refusedError{ResultError, fmt.Sprintf("%s: plain http to a registry is refused; serve it over https", req.URL.Redacted())}
	}
	if req.Response != nil {
		// http.Client follows redirects; Response is what redirected here.
		first := req.Response.Request
		for first.Response != nil {
			first = first.Response.Request
		}
		if req.URL.Host != first.URL.Host {
			switch {
			case !blobPath.MatchString(first.URL.Path):
				return nil, &refusedError{ResultRedirect, fmt.Sprintf("redirect refused: registry %s redirected %s to another host, %s; only blob downloads may move to another host",
					first.URL.Host, first.URL.Path, req.URL.Host)}
			case req.Header.Get("Authorization") != "":
				return nil, &refusedError{ResultRedirect, fmt.Sprintf("redirect refused: registry %s redirected a blob download to %s with credentials attached",
					first.URL.Host, req.URL.Host)}
			}
		}
	}
	return g.next.RoundTrip(req)
}
