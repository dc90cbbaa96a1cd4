// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package testenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/deckhouse/secrets-store-integration/test/supervisor"
)

// Names of what the environment sets up in Vault.
const (
	// KVMount is a KV version 2 secrets engine.
	KVMount = "secret"
	// KVv1Mount is a KV version 1 secrets engine.
	KVv1Mount = "kv1"
	// KubernetesAuthMount is the Kubernetes auth method, configured against
	// the environment's kube-apiserver.
	KubernetesAuthMount = "kubernetes"
)

type vaultServer struct {
	proc      *supervisor.Process
	addr      string
	caPEM     []byte
	caPath    string
	rootToken string
	unsealKey string
	client    *vault.Client
	// mtlsAddr is a second listener that requires a client certificate
	// signed by the Vault CA; clientCert/clientKey are such a pair.
	mtlsAddr, clientCert, clientKey string
}

// startVault runs a real Vault server (in-memory storage, TLS signed by its
// own CA), initialises and unseals it, and mounts the KV engines.
func startVault(ctx context.Context, bin, dir string) (*vaultServer, error) {
	ports, err := supervisor.FreePorts(3)
	if err != nil {
		return nil, err
	}
	ca, err := newAuthority("testenv-vault-ca")
	if err != nil {
		return nil, err
	}
	serving, err := ca.serving("vault")
	if err != nil {
		return nil, err
	}
	certPath, keyPath, err := serving.write(dir, "vault")
	if err != nil {
		return nil, err
	}
	caPath := filepath.Join(dir, "vault-ca.crt")
	if err := os.WriteFile(caPath, ca.certPEM, 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", caPath, err)
	}
	client, err := ca.client("testenv-vault-client")
	if err != nil {
		return nil, err
	}
	clientCert, clientKey, err := client.write(dir, "vault-client")
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("https://127.0.0.1:%d", ports[0])
	configPath := filepath.Join(dir, "vault.hcl")
	config := fmt.Sprintf(`disable_mlock = true
ui = false
log_level = "warn"
storage "inmem" {}
listener "tcp" {
  address         = "127.0.0.1:%d"
  cluster_address = "127.0.0.1:%d"
  tls_cert_file   = %q
  tls_key_file    = %q
}
listener "tcp" {
  address                            = "127.0.0.1:%d"
  tls_cert_file                      = %q
  tls_key_file                       = %q
  tls_client_ca_file                 = %q
  tls_require_and_verify_client_cert = true
}
api_addr     = %q
cluster_addr = "https://127.0.0.1:%d"
`, ports[0], ports[1], certPath, keyPath, ports[2], certPath, keyPath, caPath, addr, ports[1])
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", configPath, err)
	}

	proc, err := startServer("vault", dir, bin, "server", "-config="+configPath)
	if err != nil {
		return nil, err
	}
	v := &vaultServer{proc: proc, addr: addr, caPEM: ca.certPEM, caPath: caPath,
		mtlsAddr: fmt.Sprintf("https://127.0.0.1:%d", ports[2]), clientCert: clientCert, clientKey: clientKey}
	if err := v.initialise(ctx); err != nil {
		_ = proc.Kill()
		return nil, err
	}
	return v, nil
}

func (v *vaultServer) initialise(ctx context.Context) error {
	client, err := newVaultClient(v.addr, v.caPEM)
	if err != nil {
		return err
	}
	if err := v.proc.Poll(ctx, "vault not ready", func(ctx context.Context) error {
		_, err := client.Sys().InitStatusWithContext(ctx)
		return err
	}); err != nil {
		return err
	}
	init, err := client.Sys().InitWithContext(ctx, &vault.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		return fmt.Errorf("initialise vault: %w", err)
	}
	if _, err := client.Sys().UnsealWithContext(ctx, init.KeysB64[0]); err != nil {
		return fmt.Errorf("unseal vault: %w", err)
	}
	client.SetToken(init.RootToken)
	// Unsealed is not yet active: wait until the node serves requests.
	if err := v.proc.Poll(ctx, "vault not ready", func(ctx context.Context) error {
		h, err := client.Sys().HealthWithContext(ctx)
		if err != nil {
			return err
		}
		if h.Sealed || h.Standby {
			return fmt.Errorf("vault sealed=%t standby=%t", h.Sealed, h.Standby)
		}
		return nil
	}); err != nil {
		return err
	}
	mounts := map[string]*vault.MountInput{
		KVMount:   {Type: "kv", Options: map[string]string{"version": "2"}},
		KVv1Mount: {Type: "kv", Options: map[string]string{"version": "1"}},
	}
	for path, in := range mounts {
		if err := client.Sys().MountWithContext(ctx, path, in); err != nil {
			return fmt.Errorf("mount %s secrets engine at %s: %w", in.Type, path, err)
		}
	}
	if err := client.Sys().EnableAuthWithOptionsWithContext(ctx, KubernetesAuthMount,
		&vault.EnableAuthOptions{Type: "kubernetes"}); err != nil {
		return fmt.Errorf("enable kubernetes auth at %s: %w", KubernetesAuthMount, err)
	}
	v.rootToken = init.RootToken
	v.unsealKey = init.KeysB64[0]
	v.client = client
	return nil
}

// configureKubernetesAuth points the Kubernetes auth method at kube-apiserver;
// reviewerJWT is a token allowed to call TokenReview, so logins are checked
// by the API server for real.
func (v *vaultServer) configureKubernetesAuth(ctx context.Context, apiURL string, apiCAPEM []byte, reviewerJWT string) error {
	_, err := v.client.Logical().WriteWithContext(ctx, "auth/"+KubernetesAuthMount+"/config", map[string]any{
		"kubernetes_host":      apiURL,
		"kubernetes_ca_cert":   string(apiCAPEM),
		"token_reviewer_jwt":   reviewerJWT,
		"disable_local_ca_jwt": true,
	})
	if err != nil {
		return fmt.Errorf("configure auth/%s: %w", KubernetesAuthMount, err)
	}
	return nil
}

// newVaultClient returns a client of addr that trusts caPEM and has no token.
func newVaultClient(addr string, caPEM []byte) (*vault.Client, error) {
	cfg := vault.DefaultConfig()
	cfg.Address = addr
	if err := cfg.ConfigureTLS(&vault.TLSConfig{CACertBytes: caPEM}); err != nil {
		return nil, fmt.Errorf("configure vault TLS: %w", err)
	}
	cfg.MaxRetries = 0
	client, err := vault.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("make vault client for %s: %w", addr, err)
	}
	// NewClient reads VAULT_TOKEN from the environment; tests must not.
	client.ClearToken()
	return client, nil
}

// KubernetesRole is a role of the Kubernetes auth method.
type KubernetesRole struct {
	ServiceAccounts []string
	Namespaces      []string
	Policies        []string
	// Audience the role requires in tokens; empty accepts any the API
	// server accepts.
	Audience string
	TTL      time.Duration
}

// WriteKubernetesRole creates or replaces role name of the Kubernetes auth method.
func (e *Env) WriteKubernetesRole(ctx context.Context, name string, r KubernetesRole) error {
	data := map[string]any{
		"bound_service_account_names":      r.ServiceAccounts,
		"bound_service_account_namespaces": r.Namespaces,
		"token_policies":                   r.Policies,
	}
	if r.Audience != "" {
		data["audience"] = r.Audience
	}
	if r.TTL > 0 {
		data["token_ttl"] = int(r.TTL / time.Second)
	}
	path := "auth/" + KubernetesAuthMount + "/role/" + name
	if _, err := e.Vault.Logical().WriteWithContext(ctx, path, data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// WritePolicy creates or replaces ACL policy name.
func (e *Env) WritePolicy(ctx context.Context, name, hcl string) error {
	if err := e.Vault.Sys().PutPolicyWithContext(ctx, name, hcl); err != nil {
		return fmt.Errorf("write policy %s: %w", name, err)
	}
	return nil
}

// LiveTokens counts the store tokens issued to role (at any auth method)
// that are still valid: each login makes one, and a token nobody revokes
// lives for the role's TTL.
func (e *Env) LiveTokens(ctx context.Context, role string) (int, error) {
	sec, err := e.Vault.Logical().ListWithContext(ctx, "auth/token/accessors")
	if err != nil {
		return 0, fmt.Errorf("list token accessors: %w", err)
	}
	if sec == nil {
		return 0, nil
	}
	keys, _ := sec.Data["keys"].([]any)
	n := 0
	for _, a := range keys {
		info, err := e.Vault.Logical().WriteWithContext(ctx, "auth/token/lookup-accessor", map[string]any{"accessor": a})
		if err != nil {
			continue // revoked or expired between list and lookup
		}
		if meta, ok := info.Data["meta"].(map[string]any); ok && meta["role"] == role {
			n++
		}
	}
	return n, nil
}

// SealVault seals Vault: until UnsealVault every request but the status
// ones gets 503, as from a store that is down.
func (e *Env) SealVault(ctx context.Context) error {
	if err := e.Vault.Sys().SealWithContext(ctx); err != nil {
		return fmt.Errorf("seal vault: %w", err)
	}
	return nil
}

// UnsealVault unseals Vault after SealVault and waits until it serves again.
// Its data (in memory) is kept across the seal.
func (e *Env) UnsealVault(ctx context.Context) error {
	if _, err := e.Vault.Sys().UnsealWithContext(ctx, e.vaultUnsealKey); err != nil {
		return fmt.Errorf("unseal vault: %w", err)
	}
	for {
		h, err := e.Vault.Sys().HealthWithContext(ctx)
		if err == nil && !h.Sealed && !h.Standby {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for vault to serve after unseal: %w (last: %+v, %v)", ctx.Err(), h, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// ReadGrant lets ServiceAccounts of a namespace read KV secrets: a policy
// that reads Path (an API path, a trailing * for a prefix) and a
// Kubernetes auth role that gives it, for tokens of audience "vault".
type ReadGrant struct {
	Role, Policy, Path string
	Namespace          string
	// Namespaces, when set, are the role's namespaces in place of Namespace.
	Namespaces []string
	// ServiceAccounts bound to the role; "*" for all of the namespace.
	ServiceAccounts []string
	TTL             time.Duration
}

// GrantRead writes the policy and the role of g, as the platform team does
// for an application.
func (e *Env) GrantRead(ctx context.Context, g ReadGrant) error {
	if err := e.WritePolicy(ctx, g.Policy, fmt.Sprintf(`path %q { capabilities = ["read"] }`, g.Path)); err != nil {
		return fmt.Errorf("write policy %s: %w", g.Policy, err)
	}
	namespaces := g.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{g.Namespace}
	}
	if err := e.WriteKubernetesRole(ctx, g.Role, KubernetesRole{
		ServiceAccounts: g.ServiceAccounts, Namespaces: namespaces,
		Policies: []string{g.Policy}, Audience: "vault", TTL: g.TTL,
	}); err != nil {
		return fmt.Errorf("write kubernetes auth role %s: %w", g.Role, err)
	}
	return nil
}
