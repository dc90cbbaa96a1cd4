// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Command demo starts the real test environment (etcd, kube-apiserver,
// Vault), writes a secret and logs in to Vault as a Kubernetes
// ServiceAccount with a TokenRequest token. It installs the module through
// a real addon-operator, as Deckhouse does (the hooks program computes the
// webhook certificate and the store connection, Helm installs the release),
// prints what the hooks computed, and stops it; the release's workloads stay
// inert (no scheduler or kubelet): the demo runs the binaries itself.
// Then it delivers the secret as
// files the way a pod gets them: it builds and runs the module's CSI node
// driver and Vault provider, creates a SecretsStoreImport, plays kubelet
// (publish, republish after a change in Vault, unpublish) and prints what
// the volume holds. Then way 3: it runs the mutating webhook, creates an
// annotated pod through the API server and starts its mutated container,
// which prints the variables the env injector gave it, and then its second
// stage: a real containerd with the module's NRI plugin gives a container of
// an annotated pod its secrets as it creates it. Last, way 4: it runs
// the controller, which copies the secret into a Kubernetes Secret and
// keeps it fresh. It stops everything and unmounts what it mounted, also on
// error or Ctrl-C. Run it as root with `make demo` (the driver mounts
// tmpfs).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

const (
	namespace = "demo"
	account   = "app"
	role      = "app"
	audience  = "vault"
	// secretPath is the secret both parts read, relative to the KV mount.
	secretPath = "app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		if ctx.Err() != nil {
			slog.Error("demo interrupted; everything it started is stopped", "error", err.Error())
			os.Exit(130)
		}
		slog.Error("demo failed", "error", err.Error())
		os.Exit(1)
	}
}

func run(ctx context.Context) (err error) {
	if os.Geteuid() != 0 {
		return errors.New("the CSI driver mounts tmpfs: run the demo as root")
	}
	// A cold build of the driver and the provider on a busy machine takes
	// minutes; a warm run takes well under two.
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()

	env, err := startEnv(ctx)
	if err != nil {
		return err
	}
	defer func() {
		step("Stopping etcd, kube-apiserver and Vault")
		env.Stop()
	}()
	if err := writeSecret(ctx, env); err != nil {
		return err
	}
	if err := readAsApp(ctx, env); err != nil {
		return err
	}
	if err := installModule(ctx, env); err != nil {
		return err
	}

	n, err := startNode(ctx, env)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, n.stop()) }()
	if err := createImport(ctx, env); err != nil {
		return err
	}
	v, err := n.kubelet.NewVolume(pod.Name)
	if err != nil {
		return fmt.Errorf("make the volume folder of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	// Unpublish is safe on a volume that never got mounted: a failed or
	// interrupted publish is undone as well.
	defer func() { err = errors.Join(err, n.unpublish(v)) }()
	if err := n.publish(ctx, v); err != nil {
		return err
	}
	if err := n.rotate(ctx, env, v); err != nil {
		return err
	}
	if err := injectEnv(ctx, env, n.bins); err != nil {
		return err
	}
	if err := deliverThroughContainerd(ctx, env, n.bins); err != nil {
		return err
	}
	return syncSecret(ctx, env, n.bins)
}

// startEnv starts etcd, kube-apiserver and Vault.
func startEnv(ctx context.Context) (*testenv.Env, error) {
	step("Starting etcd, kube-apiserver and Vault on loopback")
	env, err := testenv.Start(ctx, testenv.Options{Log: os.Stdout})
	if err != nil {
		return nil, fmt.Errorf("start the test environment: %w", err)
	}
	fmt.Printf("   kube-apiserver %s, Vault %s\n", env.APIServerURL, env.VaultAddr)
	return env, nil
}

// writeSecret does the platform team's part: the secret, a policy to read
// it and a Kubernetes auth role binding the policy to ServiceAccount
// demo/app.
func writeSecret(ctx context.Context, env *testenv.Env) error {
	step("Writing secret/app in Vault (KV v2) as the platform team would")
	if _, err := env.Vault.KVv2(testenv.KVMount).Put(ctx, secretPath, map[string]any{
		"username": "demo-user",
		"password": "demo-password-" + time.Now().Format("150405"),
	}); err != nil {
		return fmt.Errorf("write secret/%s: %w", secretPath, err)
	}
	return env.GrantRead(ctx, testenv.ReadGrant{
		Role: role, Policy: "app-read", Path: "secret/data/app",
		Namespace: namespace, ServiceAccounts: []string{account}, TTL: 5 * time.Minute,
	})
}

// readAsApp is way 1, the application reading the store itself: it logs in
// with a token of its ServiceAccount and reads the secret.
func readAsApp(ctx context.Context, env *testenv.Env) error {
	step(fmt.Sprintf("Creating ServiceAccount %s/%s and requesting its token for audience %q", namespace, account, audience))
	if _, err := env.CreateServiceAccount(ctx, namespace, account); err != nil {
		return err
	}
	jwt, err := env.ServiceAccountToken(ctx, namespace, account, audience, 10*time.Minute)
	if err != nil {
		return err
	}

	step("Logging in to Vault with that token (Vault asks kube-apiserver's TokenReview)")
	client, err := env.NewVaultClient()
	if err != nil {
		return fmt.Errorf("make a Vault client: %w", err)
	}
	login, err := client.Logical().WriteWithContext(ctx, "auth/"+testenv.KubernetesAuthMount+"/login",
		map[string]any{"role": role, "jwt": jwt})
	if err != nil {
		return fmt.Errorf("log in as role %s: %w", role, err)
	}
	client.SetToken(login.Auth.ClientToken)
	fmt.Printf("   logged in: policies %v, lease %ds\n", login.Auth.Policies, login.Auth.LeaseDuration)

	step("Reading secret/app with the application's Vault token")
	secret, err := client.KVv2(testenv.KVMount).Get(ctx, secretPath)
	if err != nil {
		return fmt.Errorf("read secret/%s: %w", secretPath, err)
	}
	for _, key := range []string{"username", "password"} {
		fmt.Printf("   %s = %v\n", key, secret.Data[key])
	}
	return nil
}

func step(s string) { fmt.Printf("==> %s\n", s) }
