// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/deckhouse/secrets-store-integration/images/internal/injection"
	"github.com/deckhouse/secrets-store-integration/images/internal/params"
	"github.com/deckhouse/secrets-store-integration/images/internal/storepolicy"
	"github.com/deckhouse/secrets-store-integration/images/webhook/internal/entrypoint"
	"github.com/deckhouse/secrets-store-integration/images/webhook/internal/metrics"
	"github.com/deckhouse/secrets-store-integration/images/webhook/internal/mutate"
)

// fakeImages answers from a map; an image not in it fails as a registry
// without credentials would.
type fakeImages struct {
	images map[string]mutate.Image
	mu     sync.Mutex // the handler looks images up at the same time
	asked  []entrypoint.Request
}

func (f *fakeImages) Resolve(_ context.Context, req entrypoint.Request) (mutate.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, req)
	if img, ok := f.images[req.Image]; ok {
		return img, nil
	}
	return mutate.Image{}, &entrypoint.Error{Result: entrypoint.ResultDenied, Err: errors.New("GET https://registry/v2/: UNAUTHORIZED")}
}

type harness struct {
	h      *Handler
	images *fakeImages
	logs   *bytes.Buffer
}

func newHarness() *harness {
	logs := &bytes.Buffer{}
	images := &fakeImages{images: map[string]mutate.Image{"nginx:1.27": {Entrypoint: []string{"/docker-entrypoint.sh"}, Cmd: []string{"nginx"}}}}
	return &harness{
		h: &Handler{
			Defaults:   params.Defaults{Address: "https://vault.example:8200"},
			Options:    mutate.Options{InjectorImage: "injector:v1", InjectorBinary: "/env-injector", TokenAudience: "vault", TokenExpirationSeconds: 600},
			Containerd: mutate.Containerd{Enabled: true, NodeLabel: "secrets-store.deckhouse.io/containerd-delivery", NodeLabelValue: "enabled", PluginName: "secrets-store"},
			Policy:     storepolicy.Policy{DefaultAddress: "https://vault.example:8200", AllowedAudiences: []string{"vault"}},
			Images:     images, Metrics: metrics.New(),
			Log: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		},
		images: images, logs: logs,
	}
}

func (hs *harness) post(t *testing.T, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	t.Helper()
	body, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"}, Request: req,
	})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/mutate", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	hs.h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if out.APIVersion != "admission.k8s.io/v1" || out.Kind != "AdmissionReview" || out.Response == nil || out.Response.UID != req.UID {
		t.Fatalf("response %+v does not answer request %s", out, req.UID)
	}
	return out.Response
}

func podRequest(t *testing.T, pod *corev1.Pod) *admissionv1.AdmissionRequest {
	t.Helper()
	raw, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	return &admissionv1.AdmissionRequest{
		UID: types.UID("uid-" + pod.Name), Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
		Resource: metav1.GroupVersionResource{Version: "v1", Resource: "pods"}, Namespace: "team-a", Name: pod.Name,
		Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: raw},
	}
}

func pod(name string, ann map[string]string, containers ...corev1.Container) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: ann},
		Spec: corev1.PodSpec{ServiceAccountName: "app", ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}}, Containers: containers}}
}

func role(kv ...string) map[string]string {
	m := map[string]string{injection.AnnotationPrefix + injection.AnnotationRole: "app"}
	for i := 0; i < len(kv); i += 2 {
		m[injection.AnnotationPrefix+kv[i]] = kv[i+1]
	}
	return m
}

func TestReview(t *testing.T) {
	app := corev1.Container{Name: "app", Image: "app:v1", Command: []string{"/app"},
		Env: []corev1.EnvVar{{Name: "PASSWORD", Value: "hunter2-literal"}}}
	web := corev1.Container{Name: "web", Image: "nginx:1.27"}
	private := corev1.Container{Name: "worker", Image: "private:v1"}
	bad := app
	bad.Env = []corev1.EnvVar{{Name: "DB", Value: "secrets-store:hunter2-path"}}
	injected := pod("again", role(), app)
	injected.Spec.InitContainers = []corev1.Container{{Name: mutate.InitContainerName, Image: "injector:v1"}}

	for _, tc := range []struct {
		name     string
		req      *admissionv1.AdmissionRequest
		off      bool // containerd delivery not enabled
		result   string
		allowed  bool
		patched  bool
		message  []string
		warning  string
		lookups  int
		noInLogs string
	}{
		{name: "not opted in", req: podRequest(t, pod("plain", nil, app)), result: metrics.Skipped, allowed: true},
		{name: "mutated before", req: podRequest(t, injected), result: metrics.Skipped, allowed: true},
		{name: "explicit command", req: podRequest(t, pod("cmd", role(), app)), result: metrics.Mutated, allowed: true, patched: true, noInLogs: "hunter2"},
		{name: "command from the image", req: podRequest(t, pod("img", role(), web)), result: metrics.Mutated, allowed: true, patched: true, lookups: 1},
		{name: "risky setting", req: podRequest(t, pod("risky", role("tls-skip-verify", "true"), app)), result: metrics.Mutated, allowed: true, patched: true,
			warning: "tls-skip-verify"},
		{name: "bad annotation", req: podRequest(t, pod("ann", role("restart-on-secret-change", "sometimes"), app)), result: metrics.Refused,
			message: []string{"annotation secrets-store.deckhouse.io/restart-on-secret-change", `"sometimes"`}},
		{name: "bad reference", req: podRequest(t, pod("ref", role(), bad)), result: metrics.Refused,
			message: []string{`container "app", variable DB`, "has no key"}, noInLogs: "hunter2"},
		{name: "image not readable", req: podRequest(t, pod("priv", role(), web, private)), result: metrics.Refused, lookups: 2,
			message: []string{`container "worker"`, `image "private:v1"`, "UNAUTHORIZED", "set the container's command"}},
		{name: "containerd delivery: no image lookup", req: podRequest(t, pod("nri", role("delivery", "containerd"), web, private)),
			result: metrics.Mutated, allowed: true, patched: true},
		{name: "containerd delivery off", req: podRequest(t, pod("nri-off", role("delivery", "containerd"), app)), off: true, result: metrics.Refused,
			message: []string{"annotation secrets-store.deckhouse.io/delivery: containerd is not enabled", "containerdDelivery.enabled"}},
		{name: "containerd delivery to a store the settings do not allow", req: podRequest(t, pod("nri-addr", role("delivery", "containerd", "addr", "https://elsewhere.example"), app)),
			result:  metrics.Refused,
			message: []string{`annotation secrets-store.deckhouse.io/addr "https://elsewhere.example" is not allowed by the module settings`}},
		{name: "containerd delivery with an injector annotation", req: podRequest(t, pod("nri-ann", role("delivery", "containerd", "service-account-token-path", "/t"), app)),
			result:  metrics.Refused,
			message: []string{"annotation secrets-store.deckhouse.io/service-account-token-path: cannot be used with secrets-store.deckhouse.io/delivery: containerd"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness()
			hs.h.Containerd.Enabled = !tc.off
			resp := hs.post(t, tc.req)
			if resp.Allowed != tc.allowed || (len(resp.Patch) > 0) != tc.patched {
				t.Fatalf("allowed %v, patch %s; want allowed %v, patched %v (%+v)", resp.Allowed, resp.Patch, tc.allowed, tc.patched, resp.Result)
			}
			if tc.patched && (resp.PatchType == nil || *resp.PatchType != admissionv1.PatchTypeJSONPatch) {
				t.Errorf("patch type %v", resp.PatchType)
			}
			for _, m := range tc.message {
				if resp.Result == nil || !strings.Contains(resp.Result.Message, m) {
					t.Errorf("message %+v lacks %q", resp.Result, m)
				}
			}
			if tc.warning != "" && !strings.Contains(strings.Join(resp.Warnings, "\n"), tc.warning) {
				t.Errorf("warnings %q lack %q", resp.Warnings, tc.warning)
			}
			if got := admissions(t, hs, tc.result); got != 1 {
				t.Errorf("admissions{result=%s} = %v, want 1", tc.result, got)
			}
			if len(hs.images.asked) != tc.lookups {
				t.Errorf("%d image lookups, want %d", len(hs.images.asked), tc.lookups)
			}
			for _, r := range hs.images.asked {
				if r.Namespace != "team-a" || r.ServiceAccount != "app" || len(r.PullSecrets) != 1 || r.PullSecrets[0] != "regcred" {
					t.Errorf("lookup %+v: want the pod's namespace, service account and pull secrets", r)
				}
			}
			if tc.noInLogs != "" && strings.Contains(hs.logs.String(), tc.noInLogs) {
				t.Errorf("logs carry a variable's value:\n%s", hs.logs)
			}
		})
	}
}

// admissions reads the admissions counter of one result.
func admissions(t *testing.T, hs *harness, result string) float64 {
	t.Helper()
	families, err := hs.h.Metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "secrets_store_webhook_admissions_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no admissions_total{result=%q}", result)
	return 0
}

func TestBadRequests(t *testing.T) {
	for _, tc := range []struct {
		name, method, contentType, body string
	}{
		{"GET", http.MethodGet, "application/json", ""},
		{"not JSON", http.MethodPost, "text/plain", "{}"},
		{"garbage", http.MethodPost, "application/json", "{"},
		{"no request", http.MethodPost, "application/json", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness()
			r := httptest.NewRequest(tc.method, "/mutate", strings.NewReader(tc.body))
			r.Header.Set("Content-Type", tc.contentType)
			w := httptest.NewRecorder()
			hs.h.ServeHTTP(w, r)
			if w.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", w.Code)
			}
			if got := admissions(t, hs, metrics.Error); got != 1 {
				t.Fatalf("admissions{result=error} = %v, want 1", got)
			}
		})
	}
}

func TestOnlyPodCreates(t *testing.T) {
	p := pod("x", role(), corev1.Container{Name: "app", Image: "app:v1", Command: []string{"/app"}})
	update := podRequest(t, p)
	update.Operation = admissionv1.Update
	binding := podRequest(t, p)
	binding.SubResource = "binding"
	secret := podRequest(t, p)
	secret.Kind = metav1.GroupVersionKind{Version: "v1", Kind: "Secret"}
	for _, req := range []*admissionv1.AdmissionRequest{update, binding, secret} {
		hs := newHarness()
		if resp := hs.post(t, req); !resp.Allowed || len(resp.Patch) > 0 {
			t.Errorf("%s %s/%s: allowed %v, patch %s; want allowed untouched", req.Operation, req.Kind.Kind, req.SubResource, resp.Allowed, resp.Patch)
		}
	}
}
