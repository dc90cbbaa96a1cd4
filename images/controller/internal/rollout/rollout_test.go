// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package rollout

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/deckhouse/secrets-store-integration/images/api/v1alpha1"
)

func TestRestart(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c := fake.NewClientBuilder().WithScheme(scheme.Scheme).WithObjects(
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "web"}},
		&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "db"}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "other", Name: "api"}},
	).Build()
	res, err := Restart(context.Background(), c, "app", []v1alpha1.RolloutTarget{
		{Kind: "Deployment", Name: "web"}, {Kind: "StatefulSet", Name: "db"},
		{Kind: "DaemonSet", Name: "agent"}, {Kind: "Deployment", Name: "api"}, {Kind: "Job", Name: "x"},
	}, at)
	if err == nil || !strings.Contains(err.Error(), `kind "Job"`) {
		t.Errorf("error %v, want one about kind Job", err)
	}
	if strings.Join(res.Restarted, ",") != "Deployment/web,StatefulSet/db" {
		t.Errorf("restarted %v", res.Restarted)
	}
	if strings.Join(res.Missing, ",") != "DaemonSet/agent,Deployment/api" {
		t.Errorf("missing %v (a workload of another namespace must not be found)", res.Missing)
	}
	for _, obj := range []client.Object{&appsv1.Deployment{}, &appsv1.StatefulSet{}} {
		name := "web"
		if _, ok := obj.(*appsv1.StatefulSet); ok {
			name = "db"
		}
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: "app", Name: name}, obj); err != nil {
			t.Fatal(err)
		}
		var got string
		switch o := obj.(type) {
		case *appsv1.Deployment:
			got = o.Spec.Template.Annotations[Annotation]
		case *appsv1.StatefulSet:
			got = o.Spec.Template.Annotations[Annotation]
		}
		if got != "2026-03-01T12:00:00Z" {
			t.Errorf("%s: pod template annotation %q", name, got)
		}
	}
	var other appsv1.Deployment
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: "other", Name: "api"}, &other); err != nil {
		t.Fatal(err)
	}
	if _, ok := other.Spec.Template.Annotations[Annotation]; ok {
		t.Error("a Deployment of another namespace was restarted")
	}
}
