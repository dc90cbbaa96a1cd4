// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package testenv

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"

	vault "github.com/hashicorp/vault/api"
)

// EnableJWTAuth enables Vault's JWT auth method at mount, checking tokens
// with the API server's own service-account signing keys (published at
// /openid/v1/jwks) and its issuer, as a cluster whose store cannot reach
// the API server's discovery endpoint configures it.
func (e *Env) EnableJWTAuth(ctx context.Context, mount string) error {
	keys, err := e.serviceAccountKeys(ctx)
	if err != nil {
		return err
	}
	if err := e.Vault.Sys().EnableAuthWithOptionsWithContext(ctx, mount, &vault.EnableAuthOptions{Type: "jwt"}); err != nil {
		return fmt.Errorf("enable jwt auth at %s: %w", mount, err)
	}
	if _, err := e.Vault.Logical().WriteWithContext(ctx, "auth/"+mount+"/config", map[string]any{
		"jwt_validation_pubkeys": keys,
		"bound_issuer":           ServiceAccountIssuer,
	}); err != nil {
		return fmt.Errorf("configure jwt auth at %s: %w", mount, err)
	}
	return nil
}

// serviceAccountKeys returns the API server's service-account signing keys
// as PEM.
func (e *Env) serviceAccountKeys(ctx context.Context) ([]string, error) {
	raw, err := e.Kube.Discovery().RESTClient().Get().AbsPath("/openid/v1/jwks").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the API server's JWKS: %w", err)
	}
	var jwks struct {
		Keys []struct{ Kty, N, E string } `json:"keys"`
	}
	if err := json.Unmarshal(raw, &jwks); err != nil {
		return nil, fmt.Errorf("decode the API server's JWKS: %w", err)
	}
	var pems []string
	for _, k := range jwks.Keys {
		if k.Kty != "RSA" {
			return nil, fmt.Errorf("JWKS key type %q: want RSA", k.Kty)
		}
		n, err := base64.RawURLEncoding.DecodeString(k.N)
		if err != nil {
			return nil, fmt.Errorf("JWKS modulus: %w", err)
		}
		exp, err := base64.RawURLEncoding.DecodeString(k.E)
		if err != nil {
			return nil, fmt.Errorf("JWKS exponent: %w", err)
		}
		der, err := x509.MarshalPKIXPublicKey(&rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(exp).Int64())})
		if err != nil {
			return nil, fmt.Errorf("encode JWKS key: %w", err)
		}
		pems = append(pems, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	}
	if len(pems) == 0 {
		return nil, fmt.Errorf("the API server's JWKS has no keys")
	}
	return pems, nil
}
