// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package hmackey provides the key of the HMAC the controller writes into
// each synced Secret's annotations (a digest of the data, never the data).
// The key must be the same for every replica and over restarts, or every
// Secret would look changed and be rewritten: it comes from a file (a
// mounted Secret the platform manages) or, by default, from a Secret in the
// controller's namespace that the first replica to start creates.
package hmackey

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/deckhouse/secrets-store-integration/images/internal/keyfile"
)

// DataKey is the key of the Secret's data that holds the hex key.
const DataKey = "key"

// FromSecret returns the key in Secret namespace/name, creating the Secret
// with a random 32-byte key if it does not exist.
func FromSecret(ctx context.Context, client kubernetes.Interface, namespace, name string) ([]byte, error) {
	secrets := client.CoreV1().Secrets(namespace)
	s, err := secrets.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		s, err = create(ctx, client, namespace, name)
		if apierrors.IsAlreadyExists(err) {
			// Another replica created it first: use its key.
			s, err = secrets.Get(ctx, name, metav1.GetOptions{})
		}
	}
	if err != nil {
		return nil, fmt.Errorf("get HMAC key Secret %s/%s: %w", namespace, name, err)
	}
	return keyfile.Decode(s.Data[DataKey], fmt.Sprintf("Secret %s/%s, key %q", namespace, name, DataKey))
}

func create(ctx context.Context, client kubernetes.Interface, namespace, name string) (*corev1.Secret, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("make HMAC key: %w", err)
	}
	return client.CoreV1().Secrets(namespace).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace,
			Labels: map[string]string{"app.kubernetes.io/component": "secrets-store-controller"}},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{DataKey: []byte(hex.EncodeToString(key))},
	}, metav1.CreateOptions{})
}
