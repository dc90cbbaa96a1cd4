// Command demo starts the real test environment (etcd, kube-apiserver,
// Vault), writes a secret, logs in to Vault as a Kubernetes ServiceAccount
// with a TokenRequest token and prints the secret it read, then stops
// everything. Run it with `make demo`.
package main

import (
	"context"
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
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		slog.Error("demo failed", "error", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	step("Starting etcd, kube-apiserver and Vault on loopback")
	env, err := testenv.Start(ctx, testenv.Options{Log: os.Stdout})
	if err != nil {
		return err
	}
	defer env.Stop()
	fmt.Printf("   kube-apiserver %s, Vault %s\n", env.APIServerURL, env.VaultAddr)

	step("Writing secret/app in Vault (KV v2) as the platform team would")
	if _, err := env.Vault.KVv2(testenv.KVMount).Put(ctx, "app", map[string]any{
		"username": "demo-user",
		"password": "demo-password-" + time.Now().Format("150405"),
	}); err != nil {
		return fmt.Errorf("write secret/app: %w", err)
	}
	if err := env.WritePolicy(ctx, "app-read", `path "secret/data/app" { capabilities = ["read"] }`); err != nil {
		return err
	}
	if err := env.WriteKubernetesRole(ctx, role, testenv.KubernetesRole{
		ServiceAccounts: []string{account}, Namespaces: []string{namespace},
		Policies: []string{"app-read"}, Audience: audience, TTL: 5 * time.Minute,
	}); err != nil {
		return err
	}

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
		return err
	}
	login, err := client.Logical().WriteWithContext(ctx, "auth/"+testenv.KubernetesAuthMount+"/login",
		map[string]any{"role": role, "jwt": jwt})
	if err != nil {
		return fmt.Errorf("log in as role %s: %w", role, err)
	}
	client.SetToken(login.Auth.ClientToken)
	fmt.Printf("   logged in: policies %v, lease %ds\n", login.Auth.Policies, login.Auth.LeaseDuration)

	step("Reading secret/app with the application's Vault token")
	secret, err := client.KVv2(testenv.KVMount).Get(ctx, "app")
	if err != nil {
		return fmt.Errorf("read secret/app: %w", err)
	}
	for _, key := range []string{"username", "password"} {
		fmt.Printf("   %s = %v\n", key, secret.Data[key])
	}

	step("Stopping everything")
	return nil
}

func step(s string) { fmt.Printf("==> %s\n", s) }
