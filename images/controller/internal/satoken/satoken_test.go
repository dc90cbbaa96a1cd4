// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package satoken

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// fakeAPI answers TokenRequests for ServiceAccount demo/app only and counts
// them.
func fakeAPI(now *time.Time, requests *int, audiences *[]string) *fake.Clientset {
	client := fake.NewClientset(&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "app"}})
	client.PrependReactor("create", "serviceaccounts", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "token" {
			return false, nil, nil
		}
		create := a.(k8stesting.CreateActionImpl)
		name := create.Name
		if a.GetNamespace() != "demo" || name != "app" {
			return true, nil, apierrors.NewNotFound(corev1.Resource("serviceaccounts"), name)
		}
		req := create.GetObject().(*authenticationv1.TokenRequest)
		*requests++
		*audiences = append(*audiences, req.Spec.Audiences...)
		req.Status.Token = fmt.Sprintf("jwt-%d", *requests)
		req.Status.ExpirationTimestamp = metav1.NewTime(now.Add(time.Duration(*req.Spec.ExpirationSeconds) * time.Second))
		return true, req, nil
	})
	return client
}

func TestTokenReuseAndExpiry(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	var requests int
	var audiences []string
	var observed int
	c := New(fakeAPI(&now, &requests, &audiences), time.Minute, []string{"vault", "other"}, func(error) { observed++ })
	c.now = func() time.Time { return now }
	ctx := context.Background()

	steps := []struct {
		advance      time.Duration
		audience     string
		wantToken    string
		wantRequests int
	}{
		{0, "vault", "jwt-1", 1},
		{7 * time.Minute, "vault", "jwt-1", 1},  // within 4/5 of the 10 minutes (the minimum TTL)
		{0, "other", "jwt-2", 2},                // another audience is another token
		{90 * time.Second, "vault", "jwt-3", 3}, // 8.5 minutes: past 4/5, asked again
		{0, "vault", "jwt-3", 3},
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		got, err := c.Token(ctx, "demo", "app", s.audience)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got != s.wantToken || requests != s.wantRequests {
			t.Errorf("step %d: token %q after %d requests, want %q after %d", i, got, requests, s.wantToken, s.wantRequests)
		}
	}
	if audiences[0] != "vault" || audiences[1] != "other" {
		t.Errorf("audiences requested: %v", audiences)
	}
	if observed != requests {
		t.Errorf("observed %d requests, made %d", observed, requests)
	}
}

func TestMissingServiceAccount(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	var requests int
	var audiences []string
	c := New(fakeAPI(&now, &requests, &audiences), 0, []string{"vault", "other"}, nil)
	_, err := c.Token(context.Background(), "demo", "nobody", "vault")
	if !apierrors.IsNotFound(err) {
		t.Fatalf("error %v: want one that apierrors.IsNotFound sees", err)
	}
	if want := `ServiceAccount demo/nobody for audience "vault"`; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name %q", err, want)
	}
}

func TestAudienceNotAllowed(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	var requests int
	var audiences []string
	c := New(fakeAPI(&now, &requests, &audiences), 0, []string{"vault"}, nil)
	_, err := c.Token(context.Background(), "demo", "app", "kubernetes")
	if !errors.Is(err, ErrAudience) || !strings.Contains(err.Error(), `ServiceAccount demo/app for audience "kubernetes"`) {
		t.Errorf("error %v: want ErrAudience naming the ServiceAccount and the audience", err)
	}
	if requests != 0 {
		t.Errorf("%d TokenRequests made for an audience not allowed", requests)
	}
}
