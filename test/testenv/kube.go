// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package testenv

import (
	"context"
	"fmt"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CreateServiceAccount creates namespace ns (if missing) and ServiceAccount
// name in it.
func (e *Env) CreateServiceAccount(ctx context.Context, ns, name string) (*corev1.ServiceAccount, error) {
	_, err := e.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: ns},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create namespace %s: %w", ns, err)
	}
	sa, err := e.Kube.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Name: name},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("create serviceaccount %s/%s: %w", ns, name, err)
	}
	return sa, nil
}

// ServiceAccountToken asks the TokenRequest API for a token of ServiceAccount
// ns/name with the given audience, as kubelet does for a pod's projected
// token. An empty audience means the API server's own.
func (e *Env) ServiceAccountToken(ctx context.Context, ns, name, audience string, ttl time.Duration) (string, error) {
	seconds := int64(ttl / time.Second)
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &seconds}}
	if audience != "" {
		req.Spec.Audiences = []string{audience}
	}
	resp, err := e.Kube.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, req, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("request token of serviceaccount %s/%s (audience %q): %w", ns, name, audience, err)
	}
	return resp.Status.Token, nil
}

// tokenReviewer makes the ServiceAccount Vault reviews tokens with, bound to
// system:auth-delegator, and returns a token of it for the API server's own
// audience (a token for audience "vault" could not call TokenReview).
func (e *Env) tokenReviewer(ctx context.Context) (string, error) {
	const ns, name = "kube-system", "vault-token-reviewer"
	if _, err := e.CreateServiceAccount(ctx, ns, name); err != nil {
		return "", err
	}
	_, err := e.Kube.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:auth-delegator"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("bind %s/%s to system:auth-delegator: %w", ns, name, err)
	}
	return e.ServiceAccountToken(ctx, ns, name, "", 24*time.Hour)
}
