// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package hmackey

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestFromSecret(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name     string
		existing *corev1.Secret
		wantLen  int
		wantErr  string
	}{
		{"created when missing", nil, 32, ""},
		{"existing key used", &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ctl", Name: "hmac"},
			Data: map[string][]byte{DataKey: []byte(strings.Repeat("ab", 20))}}, 20, ""},
		{"short key refused", &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ctl", Name: "hmac"},
			Data: map[string][]byte{DataKey: []byte("abcd")}}, 0, `Secret ctl/hmac, key "key": want at least 16`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			client := fake.NewClientset()
			if c.existing != nil {
				client = fake.NewClientset(c.existing)
			}
			key, err := FromSecret(ctx, client, "ctl", "hmac")
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil || len(key) != c.wantLen {
				t.Fatalf("key of %d bytes, %v; want %d", len(key), err, c.wantLen)
			}
			again, err := FromSecret(ctx, client, "ctl", "hmac")
			if err != nil || string(again) != string(key) {
				t.Errorf("a second start got another key (%v)", err)
			}
		})
	}
}
