// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

//go:build ignore

// Way 1: the application reads the store itself. This program logs in to a
// Vault-compatible store (Stronghold, HashiCorp Vault, OpenBao) with the
// pod's projected ServiceAccount token and reads one KV v2 secret. It uses
// only the standard library.
//
//	VAULT_ADDR=https://vault.example.com:8200 VAULT_CACERT=/etc/vault-tls/ca.crt \
//	  go run docs/examples/app/main.go -role myapp -path secret/data/myapp
//
// It prints the secret's keys, the value of "username" and only the length of
// "password"; -show-values prints every value (never do that in production
// logs). test/integration/docs runs it against a real Vault.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"
)

func main() {
	addr := flag.String("addr", os.Getenv("VAULT_ADDR"), "store address (env VAULT_ADDR)")
	caCert := flag.String("ca-cert", os.Getenv("VAULT_CACERT"), "PEM file of the store's CA (env VAULT_CACERT); empty: system trust")
	tokenFile := flag.String("token-file", envOr("VAULT_TOKEN_FILE", "/var/run/secrets/vault/token"), "projected ServiceAccount token (env VAULT_TOKEN_FILE)")
	authPath := flag.String("auth-path", envOr("VAULT_AUTH_PATH", "kubernetes"), "mount of the Kubernetes auth method (env VAULT_AUTH_PATH)")
	role := flag.String("role", envOr("VAULT_ROLE", "myapp"), "role of the Kubernetes auth method (env VAULT_ROLE)")
	path := flag.String("path", envOr("SECRET_PATH", "secret/data/myapp"), "API path of the KV v2 secret (env SECRET_PATH)")
	showValues := flag.Bool("show-values", false, "print every value (unsafe)")
	timeout := flag.Duration("timeout", 30*time.Second, "time limit of the whole run")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := run(ctx, *addr, *caCert, *tokenFile, *authPath, *role, *path, *showValues); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, addr, caCert, tokenFile, authPath, role, path string, showValues bool) error {
	if addr == "" {
		return fmt.Errorf("no store address: set VAULT_ADDR or -addr")
	}
	addr = strings.TrimSuffix(addr, "/")
	client, err := httpClient(caCert)
	if err != nil {
		return err
	}
	jwt, err := os.ReadFile(tokenFile)
	if err != nil {
		return fmt.Errorf("read ServiceAccount token: %w", err)
	}

	// Log in: the store asks kube-apiserver (TokenReview) who the token's
	// ServiceAccount is and checks it against the role.
	body, err := json.Marshal(map[string]string{"role": role, "jwt": strings.TrimSpace(string(jwt))})
	if err != nil {
		return err
	}
	var login struct {
		Auth struct {
			ClientToken   string `json:"client_token"`
			LeaseDuration int    `json:"lease_duration"`
		} `json:"auth"`
	}
	if err := call(ctx, client, http.MethodPost, addr+"/v1/auth/"+authPath+"/login", "", body, &login); err != nil {
		return fmt.Errorf("log in with role %q: %w", role, err)
	}
	if login.Auth.ClientToken == "" {
		return fmt.Errorf("log in with role %q: the answer has no client_token", role)
	}

	// Read the secret with the store's token. A KV v2 answer holds the
	// values in data.data.
	var secret struct {
		Data struct {
			Data     map[string]any `json:"data"`
			Metadata struct {
				Version int `json:"version"`
			} `json:"metadata"`
		} `json:"data"`
	}
	if err := call(ctx, client, http.MethodGet, addr+"/v1/"+strings.TrimPrefix(path, "/"), login.Auth.ClientToken, nil, &secret); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	values := secret.Data.Data
	if values == nil {
		return fmt.Errorf("read %s: no data (is it a KV version 2 path, secret/data/...?)", path)
	}

	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Printf("read %s version %d, keys: %s\n", path, secret.Data.Metadata.Version, strings.Join(keys, ","))
	for _, k := range keys {
		v := fmt.Sprint(values[k])
		switch {
		case showValues, k == "username":
			fmt.Printf("%s=%s\n", k, v)
		case k == "password":
			fmt.Printf("%s length=%d\n", k, len(v))
		}
	}
	return nil
}

// httpClient trusts caCert (PEM) if given, else the system's CAs.
func httpClient(caCert string) (*http.Client, error) {
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if caCert != "" {
		pem, err := os.ReadFile(caCert)
		if err != nil {
			return nil, fmt.Errorf("read store CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("store CA %s: no PEM certificate in it", caCert)
		}
		tlsConfig.RootCAs = pool
	}
	return &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: tlsConfig, TLSHandshakeTimeout: 5 * time.Second},
	}, nil
}

// call sends one request and decodes a 2xx JSON answer into out; for any
// other status it returns the store's error messages.
func call(ctx context.Context, client *http.Client, method, url, token string, body []byte, out any) error {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Errors []string `json:"errors"`
		}
		if json.Unmarshal(data, &e) == nil && len(e.Errors) > 0 {
			return fmt.Errorf("%s: %s", resp.Status, strings.Join(e.Errors, "; "))
		}
		return fmt.Errorf("%s", resp.Status)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
