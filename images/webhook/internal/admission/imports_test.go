// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package admission

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/deckhouse/secrets-store-integration/images/api/v1alpha1"
	"github.com/deckhouse/secrets-store-integration/images/internal/storepolicy"
)

// grants answers SubjectAccessReviews of user "alice" from a list of
// "verb resource name" she may do.
func grants(allowed ...string) *fake.Clientset {
	client := fake.NewClientset(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "existing"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "ours", Annotations: map[string]string{annotationImport: "db"}}})
	client.PrependReactor("create", "subjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		sar := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview)
		ra := sar.Spec.ResourceAttributes
		got := ra.Verb + " " + resourceName(*ra) + " " + ra.Name
		for _, g := range allowed {
			if g == got && sar.Spec.User == "alice" && ra.Namespace == "team" && sar.Spec.Extra["k"][0] == "v" {
				sar.Status.Allowed = true
			}
		}
		return true, sar, nil
	})
	return client
}

func importReview(t *testing.T, op admissionv1.Operation, spec, old *v1alpha1.Spec) *admissionv1.AdmissionRequest {
	t.Helper()
	raw := func(s *v1alpha1.Spec) runtime.RawExtension {
		b, err := json.Marshal(v1alpha1.SecretsStoreImport{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "db"}, Spec: *s})
		if err != nil {
			t.Fatal(err)
		}
		return runtime.RawExtension{Raw: b}
	}
	req := &admissionv1.AdmissionRequest{
		Kind:      metav1.GroupVersionKind{Group: v1alpha1.Group, Version: v1alpha1.Version, Kind: v1alpha1.Kind},
		Namespace: "team", Name: "db", Operation: op, Object: raw(spec),
		UserInfo: authenticationv1.UserInfo{Username: "alice", Groups: []string{"devs"}, Extra: map[string]authenticationv1.ExtraValue{"k": {"v"}}},
	}
	if old != nil {
		req.OldObject = raw(old)
	}
	return req
}

func TestImportReview(t *testing.T) {
	sync := func(edit func(*v1alpha1.Spec)) *v1alpha1.Spec {
		s := &v1alpha1.Spec{Type: v1alpha1.TypeKubernetesSecret, Role: "r", ServiceAccountName: "app",
			Secret: &v1alpha1.SecretTarget{Name: "new"}, Files: []v1alpha1.File{{Name: "k", Source: v1alpha1.Source{Path: "secret/data/x"}}}}
		if edit != nil {
			edit(s)
		}
		return s
	}
	token := "create serviceaccounts/token app"
	cases := []struct {
		name     string
		op       admissionv1.Operation
		spec     *v1alpha1.Spec
		old      *v1alpha1.Spec
		allowed  []string
		wantDeny []string // substrings; none: admitted
	}{
		{name: "may have the token", op: admissionv1.Create, spec: sync(nil), allowed: []string{token}},
		{name: "may not have the token", op: admissionv1.Create, spec: sync(nil),
			wantDeny: []string{`SecretsStoreImport team/db: spec.serviceAccountName "app": user "alice" may not create serviceaccounts/token for ServiceAccount team/app`}},
		{name: "CSI needs no token right", op: admissionv1.Create, spec: &v1alpha1.Spec{Type: v1alpha1.TypeCSI, Role: "r"}},
		{name: "CSI with another address", op: admissionv1.Create, spec: &v1alpha1.Spec{Type: v1alpha1.TypeCSI, Role: "r", Address: "https://evil.example"},
			wantDeny: []string{`spec.address "https://evil.example" is not allowed`}},
		{name: "audience and skipTLSVerify", op: admissionv1.Create, allowed: []string{token},
			spec:     sync(func(s *v1alpha1.Spec) { s.Audience, s.SkipTLSVerify = "kubernetes", true }),
			wantDeny: []string{`spec.audience "kubernetes"`, `spec.skipTLSVerify "true"`}},
		{name: "service-account-token Secret", op: admissionv1.Create, allowed: []string{token},
			spec:     sync(func(s *v1alpha1.Spec) { s.Secret.Type = "kubernetes.io/service-account-token" }),
			wantDeny: []string{`spec.secret.type "kubernetes.io/service-account-token" is not allowed`}},
		{name: "merge without the update right", op: admissionv1.Create, allowed: []string{token},
			spec:     sync(func(s *v1alpha1.Spec) { s.CreationPolicy, s.Secret.Name = "Merge", "existing" }),
			wantDeny: []string{`spec.secret.name "existing": creationPolicy Merge writes into that Secret, and user "alice" may not update Secret team/existing`}},
		{name: "merge with the update right", op: admissionv1.Create, allowed: []string{token, "update secrets existing"},
			spec: sync(func(s *v1alpha1.Spec) { s.CreationPolicy, s.Secret.Name = "Merge", "existing" })},
		{name: "adopting an existing Secret", op: admissionv1.Create, allowed: []string{token},
			spec:     sync(func(s *v1alpha1.Spec) { s.Secret.Name = "existing" }),
			wantDeny: []string{`spec.secret.name "existing": the Secret exists and the controller would take it over`}},
		{name: "creating a Secret that already is this import's", op: admissionv1.Create, allowed: []string{token},
			spec:     sync(func(s *v1alpha1.Spec) { s.Secret.Name = "ours" }),
			wantDeny: []string{`spec.secret.name "ours"`}},
		{name: "updating the import of its own Secret", op: admissionv1.Update, allowed: []string{token},
			spec: sync(func(s *v1alpha1.Spec) { s.Secret.Name, s.Role = "ours", "r2" }), old: sync(func(s *v1alpha1.Spec) { s.Secret.Name = "ours" })},
		{name: "update of metadata only", op: admissionv1.Update, spec: sync(nil), old: sync(nil)},
		{name: "update of the spec", op: admissionv1.Update, spec: sync(func(s *v1alpha1.Spec) { s.Role = "admin" }), old: sync(nil),
			wantDeny: []string{"spec.serviceAccountName"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := &ImportHandler{Client: grants(c.allowed...), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
				Policy: storepolicy.Policy{DefaultAddress: "https://vault.example", AllowedAudiences: []string{"vault"}}}
			resp := h.review(context.Background(), importReview(t, c.op, c.spec, c.old))
			if len(c.wantDeny) == 0 {
				if !resp.Allowed {
					t.Fatalf("refused: %s", resp.Result.Message)
				}
				return
			}
			if resp.Allowed {
				t.Fatalf("admitted, want a refusal")
			}
			if resp.Result.Code != http.StatusForbidden {
				t.Errorf("code %d, want 403", resp.Result.Code)
			}
			for _, w := range c.wantDeny {
				if !strings.Contains(resp.Result.Message, w) {
					t.Errorf("message %q: want %q", resp.Result.Message, w)
				}
			}
		})
	}
}
