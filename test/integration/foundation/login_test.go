// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package foundation

import (
	"context"
	"fmt"

	vault "github.com/hashicorp/vault/api"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

var (
	deleteNow = metav1.DeleteOptions{}
	getOpts   = metav1.GetOptions{}
)

// jwtLogin is a vault.AuthMethod for the Kubernetes auth method: the same
// request an application makes with its projected token.
type jwtLogin struct{ role, jwt string }

func (l jwtLogin) Login(ctx context.Context, client *vault.Client) (*vault.Secret, error) {
	path := "auth/" + testenv.KubernetesAuthMount + "/login"
	secret, err := client.Logical().WriteWithContext(ctx, path, map[string]any{"role": l.role, "jwt": l.jwt})
	if err != nil {
		return nil, fmt.Errorf("log in at %s as role %s: %w", path, l.role, err)
	}
	return secret, nil
}
