// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package admission

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/deckhouse/secrets-store-integration/images/api/v1alpha1"
	"github.com/deckhouse/secrets-store-integration/images/internal/storepolicy"
)

// ImportPath is where the API server sends reviews of SecretsStoreImports.
const ImportPath = "/validate-secretsstoreimport"

// annotationImport is the controller's mark of the import that writes a
// Secret (images/controller/internal/secretsync.AnnotationImport).
const annotationImport = "secrets-store.deckhouse.io/import"

// reviewTimeout bounds the API calls of one review, below the webhook's
// 10s timeout so that a refusal says why.
const reviewTimeout = 5 * time.Second

// ImportHandler serves ImportPath: writing a SecretsStoreImport must not
// give more than its writer already has. The controller logs in to the store
// as spec.serviceAccountName and writes spec.secret with its own cluster-wide
// rights, so a KubernetesSecret import is admitted only if the requesting
// user may create tokens of that ServiceAccount and, to write into or adopt
// an existing Secret, update it. Addresses, audiences and skipTLSVerify are
// checked against the module settings for both types, for an early error.
type ImportHandler struct {
	// Client asks SubjectAccessReviews and reads the target Secret.
	Client kubernetes.Interface
	Policy storepolicy.Policy
	Log    *slog.Logger
}

// ServeHTTP answers one AdmissionReview.
// Imports are not counted in the pod metrics: serve's result is dropped.
func (h *ImportHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), reviewTimeout)
	defer cancel()
	serve(w, r, h.Log, func(req *admissionv1.AdmissionRequest) (*admissionv1.AdmissionResponse, string) {
		return h.review(ctx, req), ""
	})
}

func (h *ImportHandler) review(ctx context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	allow := &admissionv1.AdmissionResponse{Allowed: true}
	if req.Kind.Group != v1alpha1.Group || req.Kind.Kind != v1alpha1.Kind || req.SubResource != "" ||
		(req.Operation != admissionv1.Create && req.Operation != admissionv1.Update) {
		return allow
	}
	var ssi v1alpha1.SecretsStoreImport
	if err := json.Unmarshal(req.Object.Raw, &ssi); err != nil {
		return deny(http.StatusBadRequest, fmt.Sprintf("decode %s: %v", v1alpha1.Kind, err))
	}
	if ssi.Namespace == "" {
		ssi.Namespace = req.Namespace
	}
	if ssi.Name == "" {
		ssi.Name = req.Name
	}
	log := h.Log.With("import", ssi.Namespace+"/"+ssi.Name, "user", req.UserInfo.Username, "operation", string(req.Operation))
	var old *v1alpha1.SecretsStoreImport
	if req.Operation == admissionv1.Update {
		old = &v1alpha1.SecretsStoreImport{}
		if err := json.Unmarshal(req.OldObject.Raw, old); err != nil {
			return deny(http.StatusBadRequest, fmt.Sprintf("decode the old %s: %v", v1alpha1.Kind, err))
		}
		// Finalizers, labels, annotations: they change what is read or
		// written nowhere; the controller's own finalizer edits pass here.
		if apiequality.Semantic.DeepEqual(old.Spec, ssi.Spec) {
			return allow
		}
	}
	refusals, err := h.check(ctx, req.UserInfo, &ssi, old)
	if err != nil {
		log.Warn("import not checked", "error", err.Error())
		return deny(http.StatusInternalServerError, "secrets-store: "+err.Error())
	}
	if len(refusals) > 0 {
		log.Info("import refused", "refusals", len(refusals))
		return deny(http.StatusForbidden, "secrets-store: "+strings.Join(refusals, "; "))
	}
	return allow
}

// check returns why the user may not write ssi (old is the import before
// an update, nil on create), or an error if it could not tell.
func (h *ImportHandler) check(ctx context.Context, user authenticationv1.UserInfo, ssi, old *v1alpha1.SecretsStoreImport) ([]string, error) {
	var refusals []string
	if err := h.Policy.CheckImport(ssi); err != nil {
		refusals = append(refusals, strings.Split(err.Error(), "\n")...)
	}
	if ssi.Spec.Type != v1alpha1.TypeKubernetesSecret {
		return refusals, nil
	}
	source := fmt.Sprintf("%s %s/%s", v1alpha1.Kind, ssi.Namespace, ssi.Name)
	if err := storepolicy.CheckSecretType(ssi); err != nil {
		refusals = append(refusals, err.Error())
	}
	if sa := ssi.Spec.ServiceAccountName; sa != "" {
		ok, err := h.may(ctx, user, authorizationv1.ResourceAttributes{
			Namespace: ssi.Namespace, Verb: "create", Resource: "serviceaccounts", Subresource: "token", Name: sa})
		if err != nil {
			return nil, err
		}
		if !ok {
			refusals = append(refusals, fmt.Sprintf("%s: spec.serviceAccountName %q: %s may not create serviceaccounts/token for ServiceAccount %s/%s, "+
				"so may not have the controller log in to the store as it", source, sa, userName(user), ssi.Namespace, sa))
		}
	}
	if ssi.Spec.Secret == nil || ssi.Spec.Secret.Name == "" {
		return refusals, nil
	}
	why, err := h.writesExisting(ctx, ssi, old)
	if err != nil || why == "" {
		return refusals, err
	}
	name := ssi.Spec.Secret.Name
	ok, err := h.may(ctx, user, authorizationv1.ResourceAttributes{
		Namespace: ssi.Namespace, Verb: "update", Resource: "secrets", Name: name})
	if err != nil {
		return nil, err
	}
	if !ok {
		refusals = append(refusals, fmt.Sprintf("%s: spec.secret.name %q: %s, and %s may not update Secret %s/%s",
			source, name, why, userName(user), ssi.Namespace, name))
	}
	return refusals, nil
}

// writesExisting says why the import would write a Secret that is not its
// own ("" if it would not): creationPolicy Merge, or a Secret of that name
// that exists and was not written by this import.
func (h *ImportHandler) writesExisting(ctx context.Context, ssi, old *v1alpha1.SecretsStoreImport) (string, error) {
	if ssi.Spec.CreationPolicy == v1alpha1.CreationMerge {
		return "creationPolicy Merge writes into that Secret", nil
	}
	s, err := h.Client.CoreV1().Secrets(ssi.Namespace).Get(ctx, ssi.Spec.Secret.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("read Secret %s/%s: %w", ssi.Namespace, ssi.Spec.Secret.Name, err)
	case old != nil && s.Annotations[annotationImport] == ssi.Name:
		// Written by this import already.
		return "", nil
	}
	return "the Secret exists and the controller would take it over", nil
}

// may asks the API server whether user may do what attrs say.
func (h *ImportHandler) may(ctx context.Context, user authenticationv1.UserInfo, attrs authorizationv1.ResourceAttributes) (bool, error) {
	extra := make(map[string]authorizationv1.ExtraValue, len(user.Extra))
	for k, v := range user.Extra {
		extra[k] = authorizationv1.ExtraValue(v)
	}
	sar, err := h.Client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{
			User: user.Username, Groups: user.Groups, UID: user.UID, Extra: extra, ResourceAttributes: &attrs,
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("ask whether %s may %s %s %s/%s: %w", userName(user), attrs.Verb, resourceName(attrs), attrs.Namespace, attrs.Name, err)
	}
	if sar.Status.EvaluationError != "" && !sar.Status.Allowed {
		h.Log.Debug("access review evaluation error", "error", sar.Status.EvaluationError)
	}
	return sar.Status.Allowed, nil
}

func resourceName(a authorizationv1.ResourceAttributes) string {
	if a.Subresource != "" {
		return a.Resource + "/" + a.Subresource
	}
	return a.Resource
}

func userName(u authenticationv1.UserInfo) string {
	if u.Username == "" {
		return "the requesting user"
	}
	return fmt.Sprintf("user %q", u.Username)
}
