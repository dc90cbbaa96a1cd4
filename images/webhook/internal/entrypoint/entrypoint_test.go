// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package entrypoint

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	webhookmutate "github.com/deckhouse/secrets-store-integration/images/webhook/internal/mutate"
)

const user, password = "puller", "s3cret"

// privateRegistry is an in-process OCI registry behind basic auth over TLS.
type privateRegistry struct {
	srv    *httptest.Server
	host   string
	caFile string
	// manifests counts manifest reads: one per lookup of a plain image.
	manifests atomic.Int64
	// hold, when set, delays every request until it is closed.
	hold chan struct{}
	// intercept, when set, may answer a request itself (true) before the
	// registry does.
	intercept func(http.ResponseWriter, *http.Request) bool
}

func newRegistry(t *testing.T) *privateRegistry {
	t.Helper()
	r := &privateRegistry{}
	regHandler := registry.New()
	r.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r.hold != nil {
			select {
			case <-r.hold:
			case <-req.Context().Done():
				return
			}
		}
		if r.intercept != nil && r.intercept(w, req) {
			return
		}
		if u, p, ok := req.BasicAuth(); !ok || u != user || p != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		if req.Method == http.MethodGet && strings.Contains(req.URL.Path, "/manifests/") {
			r.manifests.Add(1)
		}
		regHandler.ServeHTTP(w, req)
	}))
	t.Cleanup(r.srv.Close)
	r.host = strings.TrimPrefix(r.srv.URL, "https://")
	r.caFile = filepath.Join(t.TempDir(), "ca.crt")
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.srv.Certificate().Raw})
	if err := os.WriteFile(r.caFile, ca, 0o600); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *privateRegistry) pushOptions() []remote.Option {
	return []remote.Option{remote.WithAuth(&authn.Basic{Username: user, Password: password}), remote.WithTransport(r.srv.Client().Transport)}
}

// push writes a random image with cfg and returns its reference.
func (r *privateRegistry) push(t *testing.T, repo string, cfg v1.Config) string {
	t.Helper()
	ref := r.host + "/" + repo
	if err := remote.Write(mustRef(t, ref), configured(t, cfg), r.pushOptions()...); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	return ref
}

// pushIndex writes a multi-platform index, one image per platform.
func (r *privateRegistry) pushIndex(t *testing.T, repo string, images map[string]v1.Config) string {
	t.Helper()
	idx := v1.ImageIndex(empty.Index)
	for platform, cfg := range images {
		p, err := v1.ParsePlatform(platform)
		if err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: configured(t, cfg), Descriptor: v1.Descriptor{Platform: p}})
	}
	ref := r.host + "/" + repo
	if err := remote.WriteIndex(mustRef(t, ref), idx, r.pushOptions()...); err != nil {
		t.Fatalf("push index %s: %v", ref, err)
	}
	return ref
}

func configured(t *testing.T, cfg v1.Config) v1.Image {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.Config(img, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// pullSecret is a dockerconfigjson Secret for the registry.
func (r *privateRegistry) pullSecret(ns, name, pass string) *corev1.Secret {
	cfg, _ := json.Marshal(map[string]any{"auths": map[string]any{r.host: map[string]string{"username": user, "password": pass}}})
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: cfg},
	}
}

// observed records what a Resolver reports.
type observed struct {
	mu      sync.Mutex
	lookups []string
	hits    int
	misses  int
}

func (o *observed) RegistryLookup(result string, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.lookups = append(o.lookups, result)
}

func (o *observed) ImageCache(hit bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if hit {
		o.hits++
	} else {
		o.misses++
	}
}

func resolver(t *testing.T, r *privateRegistry, objects ...runtime.Object) (*Resolver, *observed) {
	t.Helper()
	tr, err := NewTransport(r.caFile)
	if err != nil {
		t.Fatal(err)
	}
	obs := &observed{}
	return New(Config{
		Client: fake.NewClientset(objects...), Transport: tr,
		DefaultPlatform: v1.Platform{OS: "linux", Architecture: "amd64"},
		Timeout:         5 * time.Second, CacheSize: 10, CacheTTL: time.Minute, Observer: obs,
	}), obs
}

func serviceAccount(ns, name string, pullSecrets ...string) *corev1.ServiceAccount {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	for _, s := range pullSecrets {
		sa.ImagePullSecrets = append(sa.ImagePullSecrets, corev1.LocalObjectReference{Name: s})
	}
	return sa
}

func TestResolveWithPullSecrets(t *testing.T) {
	reg := newRegistry(t)
	ref := reg.push(t, "team/app:v1", v1.Config{Entrypoint: []string{"/app"}, Cmd: []string{"serve"}})
	want := webhookmutate.Image{Entrypoint: []string{"/app"}, Cmd: []string{"serve"}}
	for _, tc := range []struct {
		name    string
		objects []runtime.Object
		req     Request
		result  string
	}{
		{"the pod's pull secret",
			[]runtime.Object{serviceAccount("a", "app"), reg.pullSecret("a", "regcred", password)},
			Request{Namespace: "a", ServiceAccount: "app", PullSecrets: []string{"regcred"}}, ResultOK},
		{"the service account's pull secret",
			[]runtime.Object{serviceAccount("a", "app", "sa-regcred"), reg.pullSecret("a", "sa-regcred", password)},
			Request{Namespace: "a", ServiceAccount: "app"}, ResultOK},
		{"no pull secret",
			[]runtime.Object{serviceAccount("a", "app")},
			Request{Namespace: "a", ServiceAccount: "app"}, ResultDenied},
		{"a wrong password",
			[]runtime.Object{serviceAccount("a", "app"), reg.pullSecret("a", "regcred", "wrong")},
			Request{Namespace: "a", ServiceAccount: "app", PullSecrets: []string{"regcred"}}, ResultDenied},
		{"another namespace's pull secret",
			[]runtime.Object{serviceAccount("a", "app"), reg.pullSecret("b", "regcred", password)},
			Request{Namespace: "a", ServiceAccount: "app", PullSecrets: []string{"regcred"}}, ResultDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, obs := resolver(t, reg, tc.objects...)
			tc.req.Image = ref
			img, err := res.Resolve(context.Background(), tc.req)
			if tc.result == ResultOK {
				if err != nil || !reflect.DeepEqual(img, want) {
					t.Fatalf("Resolve = %+v, %v; want %+v", img, err, want)
				}
			} else {
				var e *Error
				if !errors.As(err, &e) || e.Result != tc.result {
					t.Fatalf("Resolve error %v, want a %s one", err, tc.result)
				}
			}
			if !reflect.DeepEqual(obs.lookups, []string{tc.result}) {
				t.Errorf("lookups reported %q, want [%s]", obs.lookups, tc.result)
			}
		})
	}
}

func TestResolvePicksThePlatform(t *testing.T) {
	reg := newRegistry(t)
	ref := reg.pushIndex(t, "multi:v1", map[string]v1.Config{
		"linux/amd64": {Entrypoint: []string{"/app-amd64"}},
		"linux/arm64": {Entrypoint: []string{"/app-arm64"}},
	})
	res, _ := resolver(t, reg, serviceAccount("a", "app"), reg.pullSecret("a", "regcred", password))
	for _, tc := range []struct {
		name         string
		nodeSelector map[string]string
		want         string
		result       string
	}{
		{"default platform", nil, "/app-amd64", ""},
		{"arm64 from the nodeSelector", map[string]string{LabelArch: "arm64"}, "/app-arm64", ""},
		{"a platform the index lacks", map[string]string{LabelArch: "s390x"}, "", ResultNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, err := res.Resolve(context.Background(), Request{Image: ref, NodeSelector: tc.nodeSelector,
				Namespace: "a", ServiceAccount: "app", PullSecrets: []string{"regcred"}})
			if tc.result != "" {
				var e *Error
				if !errors.As(err, &e) || e.Result != tc.result {
					t.Fatalf("Resolve = %+v, %v; want a %s error", img, err, tc.result)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(img.Entrypoint, []string{tc.want}) {
				t.Fatalf("Resolve = %+v, %v; want entrypoint %s", img, err, tc.want)
			}
		})
	}
}

func TestResolveCachesPerCredentialScope(t *testing.T) {
	reg := newRegistry(t)
	ref := reg.push(t, "team/app:v1", v1.Config{Entrypoint: []string{"/app"}})
	res, obs := resolver(t, reg,
		serviceAccount("a", "app"), reg.pullSecret("a", "regcred", password),
		serviceAccount("b", "app"), reg.pullSecret("b", "regcred", password),
		serviceAccount("c", "app"))
	resolve := func(ns string, secrets ...string) error {
		_, err := res.Resolve(context.Background(), Request{Image: ref, Namespace: ns, ServiceAccount: "app", PullSecrets: secrets})
		return err
	}
	steps := []struct {
		name      string
		ns        string
		secrets   []string
		ok        bool
		manifests int64
	}{
		{"first read", "a", []string{"regcred"}, true, 1},
		{"same scope: from the cache", "a", []string{"regcred"}, true, 1},
		{"another namespace reads for itself", "b", []string{"regcred"}, true, 2},
		{"a namespace without credentials gets no cached config", "c", nil, false, 2},
		{"nor with a pull secret it does not have", "c", []string{"regcred"}, false, 2},
	}
	for _, s := range steps {
		err := resolve(s.ns, s.secrets...)
		if (err == nil) != s.ok {
			t.Fatalf("%s: err = %v, want ok=%v", s.name, err, s.ok)
		}
		if got := reg.manifests.Load(); got != s.manifests {
			t.Fatalf("%s: %d manifest reads in all, want %d", s.name, got, s.manifests)
		}
	}
	if obs.hits != 1 || obs.misses != 4 {
		t.Errorf("cache hits %d, misses %d; want 1 and 4", obs.hits, obs.misses)
	}
}

func TestResolveDeadline(t *testing.T) {
	reg := newRegistry(t)
	ref := reg.push(t, "team/app:v1", v1.Config{Entrypoint: []string{"/app"}})
	reg.hold = make(chan struct{})
	defer close(reg.hold)
	res, obs := resolver(t, reg, serviceAccount("a", "app"), reg.pullSecret("a", "regcred", password))
	res.c.Timeout = 200 * time.Millisecond
	_, err := res.Resolve(context.Background(), Request{Image: ref, Namespace: "a", ServiceAccount: "app", PullSecrets: []string{"regcred"}})
	var e *Error
	if !errors.As(err, &e) || e.Result != ResultTimeout {
		t.Fatalf("Resolve of a registry that does not answer: %v, want a timeout", err)
	}
	if !reflect.DeepEqual(obs.lookups, []string{ResultTimeout}) {
		t.Errorf("lookups reported %q", obs.lookups)
	}
}

func TestResolveRefusesPlainHTTP(t *testing.T) {
	var requests atomic.Int64
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { requests.Add(1) }))
	defer plain.Close()
	reg := newRegistry(t)
	res, _ := resolver(t, reg, serviceAccount("a", "app"))
	// ggcr would fall back to http for a loopback registry whose https fails.
	_, err := res.Resolve(context.Background(), Request{Image: strings.TrimPrefix(plain.URL, "http://") + "/app:v1", Namespace: "a", ServiceAccount: "app"})
	if err == nil || !strings.Contains(err.Error(), "plain http to a registry is refused") {
		t.Fatalf("Resolve over http: %v", err)
	}
	if requests.Load() != 0 {
		t.Fatalf("%d requests reached the plain http server", requests.Load())
	}
}

func TestResolveRefusesAnUntrustedRegistry(t *testing.T) {
	reg := newRegistry(t)
	ref := reg.push(t, "team/app:v1", v1.Config{Entrypoint: []string{"/app"}})
	res, _ := resolver(t, reg, serviceAccount("a", "app"), reg.pullSecret("a", "regcred", password))
	tr, err := NewTransport("") // system roots only
	if err != nil {
		t.Fatal(err)
	}
	res.c.Transport = tr
	_, err = res.Resolve(context.Background(), Request{Image: ref, Namespace: "a", ServiceAccount: "app", PullSecrets: []string{"regcred"}})
	var e *Error
	if !errors.As(err, &e) || e.Result != ResultTLS || !strings.Contains(err.Error(), "TLS: x509: certificate") {
		t.Fatalf("Resolve against an unknown CA: %v, want a TLS error", err)
	}
}

func TestPlatform(t *testing.T) {
	def := v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}
	for _, tc := range []struct {
		sel  map[string]string
		want v1.Platform
	}{
		{nil, def},
		{map[string]string{LabelArch: "arm"}, def},
		{map[string]string{LabelArch: "arm64"}, v1.Platform{OS: "linux", Architecture: "arm64"}},
		{map[string]string{LabelOS: "windows", LabelArch: "amd64"}, v1.Platform{OS: "windows", Architecture: "amd64"}},
	} {
		if got := Platform(tc.sel, def); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Platform(%v) = %+v, want %+v", tc.sel, got, tc.want)
		}
	}
}

// storage is another host (same test certificate, another port) that
// records what reaches it and serves blobs from reg.
type storage struct {
	srv      *httptest.Server
	requests atomic.Int64
	withAuth atomic.Int64
}

func newStorage(t *testing.T, reg *privateRegistry) *storage {
	t.Helper()
	s := &storage{}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s.requests.Add(1)
		if req.Header.Get("Authorization") != "" {
			s.withAuth.Add(1)
		}
		// Serve what the registry holds, as a storage backend would.
		proxied, err := http.NewRequestWithContext(req.Context(), req.Method, reg.srv.URL+req.URL.Path, nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		proxied.SetBasicAuth(user, password)
		proxied.Header.Set("X-From-Storage", "1")
		resp, err := reg.srv.Client().Do(proxied)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func TestResolveRedirects(t *testing.T) {
	for _, tc := range []struct {
		name string
		// moves says which registry paths redirect to the storage host.
		moves   func(path string) bool
		refused bool
	}{
		{"manifests to another host are refused", func(p string) bool { return strings.Contains(p, "/manifests/") }, true},
		{"the API ping to another host is refused", func(p string) bool { return p == "/v2/" }, true},
		{"blobs go to a storage host without credentials", func(p string) bool { return strings.Contains(p, "/blobs/") }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := newRegistry(t)
			ref := reg.push(t, "team/app:v1", v1.Config{Entrypoint: []string{"/app"}})
			store := newStorage(t, reg)
			reg.intercept = func(w http.ResponseWriter, req *http.Request) bool {
				if !tc.moves(req.URL.Path) || req.Header.Get("X-From-Storage") != "" {
					return false
				}
				http.Redirect(w, req, store.srv.URL+req.URL.Path, http.StatusTemporaryRedirect)
				return true
			}
			res, obs := resolver(t, reg, serviceAccount("a", "app"), reg.pullSecret("a", "regcred", password))
			img, err := res.Resolve(context.Background(), Request{Image: ref, Namespace: "a", ServiceAccount: "app", PullSecrets: []string{"regcred"}})
			if store.withAuth.Load() != 0 {
				t.Fatalf("%d requests reached the other host with credentials", store.withAuth.Load())
			}
			if !tc.refused {
				if err != nil || !reflect.DeepEqual(img.Entrypoint, []string{"/app"}) {
					t.Fatalf("Resolve with a blob on a storage host: %+v, %v", img, err)
				}
				if store.requests.Load() == 0 {
					t.Fatal("the blob was not read from the storage host")
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Result != ResultRedirect || !strings.Contains(err.Error(), "redirect refused") {
				t.Fatalf("Resolve redirected to another host: %v, want a refused redirect", err)
			}
			if store.requests.Load() != 0 {
				t.Fatalf("%d requests reached the other host", store.requests.Load())
			}
			if !reflect.DeepEqual(obs.lookups, []string{ResultRedirect}) {
				t.Errorf("lookups reported %q", obs.lookups)
			}
		})
	}
}

func TestResolveNeverQuotesTheRegistry(t *testing.T) {
	const canary = "CANARY-body-7f3a"
	for _, tc := range []struct {
		status int
		body   string
		result string
	}{
		{http.StatusUnauthorized, `{"errors":[{"code":"UNAUTHORIZED","message":"` + canary + `"}]}`, ResultDenied},
		{http.StatusForbidden, canary, ResultDenied},
		{http.StatusNotFound, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"` + canary + `"}]}`, ResultNotFound},
		{http.StatusInternalServerError, "<html>" + canary + "</html>", ResultError},
		{http.StatusOK, canary, ResultError}, // a manifest that is not one
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			reg := newRegistry(t)
			ref := reg.push(t, "team/app:v1", v1.Config{Entrypoint: []string{"/app"}})
			reg.intercept = func(w http.ResponseWriter, req *http.Request) bool {
				if !strings.Contains(req.URL.Path, "/manifests/") {
					return false
				}
				w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
				return true
			}
			res, _ := resolver(t, reg, serviceAccount("a", "app"), reg.pullSecret("a", "regcred", password))
			_, err := res.Resolve(context.Background(), Request{Image: ref, Namespace: "a", ServiceAccount: "app", PullSecrets: []string{"regcred"}})
			var e *Error
			if !errors.As(err, &e) || e.Result != tc.result {
				t.Fatalf("Resolve: %v, want result %s", err, tc.result)
			}
			if strings.Contains(err.Error(), canary) {
				t.Fatalf("the error quotes the registry's body: %v", err)
			}
		})
	}
}
