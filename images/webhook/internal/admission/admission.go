// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package admission answers the API server's AdmissionReview requests for
// pods: it decodes the review, checks and mutates an opted-in pod, and
// writes the response with a JSON patch, warnings or the reason of a
// refusal.
package admission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/deckhouse/secrets-store-integration/images/internal/injection"
	"github.com/deckhouse/secrets-store-integration/images/internal/params"
	"github.com/deckhouse/secrets-store-integration/images/internal/storepolicy"
	"github.com/deckhouse/secrets-store-integration/images/webhook/internal/entrypoint"
	"github.com/deckhouse/secrets-store-integration/images/webhook/internal/metrics"
	"github.com/deckhouse/secrets-store-integration/images/webhook/internal/mutate"
)

// maxBody is the largest review read: the API server's own request limit.
const maxBody = 3 << 20

// Images reads what container images run.
type Images interface {
	Resolve(ctx context.Context, req entrypoint.Request) (mutate.Image, error)
}

// Handler serves /mutate.
type Handler struct {
	Defaults params.Defaults
	Options  mutate.Options
	// Containerd are the settings of containerd delivery (the NRI plugin).
	Containerd mutate.Containerd
	// Policy is which stores a pod of containerd delivery may name: the
	// plugin, not the pod, sends its token there.
	Policy  storepolicy.Policy
	Images  Images
	Metrics *metrics.Metrics
	Log     *slog.Logger
}

// ServeHTTP answers one AdmissionReview.
//
// Own decoding over controller-runtime's admission.Webhook: that one
// answers a malformed review with HTTP 200 and an error inside the review
// (the API server and the tests here expect 400), counts no metrics per
// result, and would build the patch by diffing the mutated pod with
// jsonpatch, where mutate.Patch writes the operations the fuzz test checks.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	result := serve(w, r, h.Log, func(req *admissionv1.AdmissionRequest) (*admissionv1.AdmissionResponse, string) {
		return h.review(r.Context(), req)
	})
	h.Metrics.Admission(result, time.Since(start))
}

// serve reads the AdmissionReview in r, answers it with decide's response
// and returns decide's result, or metrics.Error when the review could not
// be read or the answer written.
func serve(w http.ResponseWriter, r *http.Request, log *slog.Logger,
	decide func(*admissionv1.AdmissionRequest) (*admissionv1.AdmissionResponse, string)) string {
	review, err := decode(w, r)
	if err != nil {
		log.Warn("bad admission request", "error", err.Error(), "remote", r.RemoteAddr)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return metrics.Error
	}
	resp, result := decide(review.Request)
	resp.UID = review.Request.UID
	out, err := json.Marshal(admissionv1.AdmissionReview{TypeMeta: review.TypeMeta, Response: resp})
	if err != nil {
		log.Error("encode admission response", "error", err.Error())
		http.Error(w, "encode admission response", http.StatusInternalServerError)
		return metrics.Error
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
	return result
}

func decode(w http.ResponseWriter, r *http.Request) (*admissionv1.AdmissionReview, error) {
	if r.Method != http.MethodPost {
		return nil, fmt.Errorf("method %s: want POST", r.Method)
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return nil, fmt.Errorf("content type %q: want application/json", r.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("read admission review: %w", err)
	}
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &review); err != nil {
		return nil, fmt.Errorf("decode admission review: %w", err)
	}
	if review.Request == nil {
		return nil, errors.New("admission review without a request")
	}
	return &review, nil
}

// review decides on one request and says which result it counts as.
func (h *Handler) review(ctx context.Context, req *admissionv1.AdmissionRequest) (*admissionv1.AdmissionResponse, string) {
	allow := &admissionv1.AdmissionResponse{Allowed: true}
	if req.Kind.Kind != "Pod" || req.Kind.Group != "" || req.Operation != admissionv1.Create || req.SubResource != "" {
		return allow, metrics.Skipped
	}
	var pod corev1.Pod
	if err := json.Unmarshal(req.Object.Raw, &pod); err != nil {
		h.Log.Warn("decode pod", "namespace", req.Namespace, "error", err.Error())
		return deny(http.StatusBadRequest, fmt.Sprintf("decode pod: %v", err)), metrics.Error
	}
	log := h.Log.With("namespace", req.Namespace, "pod", podName(req, &pod), "uid", string(req.UID))
	if !injection.Enabled(pod.Annotations) || mutate.Injected(&pod) {
		// Reached only through a registration without our matchConditions
		// (or a pod mutated earlier): nothing to do.
		log.Debug("pod skipped", "opted_in", injection.Enabled(pod.Annotations))
		return allow, metrics.Skipped
	}
	settings, warnings, err := mutate.Check(&pod, h.Defaults)
	if err != nil {
		log.Info("pod refused", "reason", "invalid", "fields", mutate.Fields(err))
		return deny(http.StatusBadRequest, "secrets-store: "+err.Error()), metrics.Refused
	}
	if settings.Delivery == injection.DeliveryContainerd {
		return h.containerd(log, req, &pod, settings, warnings)
	}
	images, err := h.images(ctx, req.Namespace, &pod, settings.SkipContainers)
	if err != nil {
		log.Info("pod refused", "reason", "image", "error", err.Error())
		return deny(http.StatusBadRequest, "secrets-store: "+err.Error()), metrics.Refused
	}
	ops, err := mutate.Patch(&pod, settings, h.Options, images)
	if err != nil {
		log.Info("pod refused", "reason", "patch", "error", err.Error())
		return deny(http.StatusBadRequest, "secrets-store: "+err.Error()), metrics.Refused
	}
	return h.allow(log, req, ops, warnings, "delivery", injection.DeliveryEntrypoint,
		"containers", len(mutate.Targets(&pod, settings.SkipContainers)), "image_lookups", len(images))
}

// containerd prepares a pod for containerd delivery: no image lookup, no
// container changed.
func (h *Handler) containerd(log *slog.Logger, req *admissionv1.AdmissionRequest, pod *corev1.Pod, settings injection.Settings,
	warnings []string) (*admissionv1.AdmissionResponse, string) {
	if !h.Containerd.Enabled {
		log.Info("pod refused", "reason", "containerd delivery off")
		return deny(http.StatusBadRequest, fmt.Sprintf("secrets-store: annotation %s%s: %s is not enabled in this cluster "+
			"(the module's setting containerdDelivery.enabled); remove the annotation to use entrypoint delivery",
			injection.AnnotationPrefix, injection.AnnotationDelivery, injection.DeliveryContainerd)), metrics.Refused
	}
	if err := h.Policy.Check("", storepolicy.AnnotationFields, settings.Address, settings.SkipVerify, ""); err != nil {
		log.Info("pod refused", "reason", "store not allowed", "error", err.Error())
		return deny(http.StatusBadRequest, "secrets-store: "+err.Error()), metrics.Refused
	}
	ops, err := mutate.PatchContainerd(pod, h.Options, h.Containerd)
	if err != nil {
		log.Info("pod refused", "reason", "patch", "error", err.Error())
		return deny(http.StatusBadRequest, "secrets-store: "+err.Error()), metrics.Refused
	}
	return h.allow(log, req, ops, warnings, "delivery", injection.DeliveryContainerd)
}

// allow answers with the patch ops.
func (h *Handler) allow(log *slog.Logger, req *admissionv1.AdmissionRequest, ops []mutate.Op, warnings []string, attrs ...any) (*admissionv1.AdmissionResponse, string) {
	patch, err := json.Marshal(ops)
	if err != nil {
		log.Error("encode patch", "error", err.Error())
		return deny(http.StatusInternalServerError, "secrets-store: encode patch"), metrics.Error
	}
	pt := admissionv1.PatchTypeJSONPatch
	log.Info("pod mutated", append(attrs, "warnings", len(warnings), "dry_run", req.DryRun != nil && *req.DryRun)...)
	return &admissionv1.AdmissionResponse{Allowed: true, Patch: patch, PatchType: &pt, Warnings: warnings}, metrics.Mutated
}

// images reads, at the same time, the config of every image a target
// container runs without a command of its own.
func (h *Handler) images(ctx context.Context, ns string, pod *corev1.Pod, skip []string) (map[string]mutate.Image, error) {
	users := map[string][]string{} // image -> containers
	for _, t := range mutate.Targets(pod, skip) {
		if t.NeedsImage {
			users[t.Image] = append(users[t.Image], t.Name)
		}
	}
	var secrets []string
	for _, s := range pod.Spec.ImagePullSecrets {
		secrets = append(secrets, s.Name)
	}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		out  = map[string]mutate.Image{}
		errs []error
	)
	for image, containers := range users {
		wg.Go(func() {
			img, err := h.Images.Resolve(ctx, entrypoint.Request{
				Image: image, NodeSelector: pod.Spec.NodeSelector,
				Namespace: ns, ServiceAccount: pod.Spec.ServiceAccountName, PullSecrets: secrets,
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("container %s sets no command, and the entrypoint of its image %q could not be read from the registry: %w; "+
					"check imagePullSecrets, or set the container's command to skip the lookup", quoted(containers), image, err))
				return
			}
			out[image] = img
		})
	}
	wg.Wait()
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return out, errors.Join(errs...)
}

func quoted(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

func deny(code int32, msg string) *admissionv1.AdmissionResponse {
	reason := metav1.StatusReasonBadRequest
	if code >= http.StatusInternalServerError {
		reason = metav1.StatusReasonInternalError
	}
	return &admissionv1.AdmissionResponse{Allowed: false, Result: &metav1.Status{
		Status: metav1.StatusFailure, Code: code, Message: msg, Reason: reason,
	}}
}

// podName is the pod's name, or its generateName prefix before the API
// server picked one.
func podName(req *admissionv1.AdmissionRequest, pod *corev1.Pod) string {
	switch {
	case req.Name != "":
		return req.Name
	case pod.Name != "":
		return pod.Name
	}
	return pod.GenerateName
}
