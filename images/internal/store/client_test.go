// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCallAnswers(t *testing.T) {
	cases := []struct {
		name       string
		status     int
		body       string
		wantStatus int    // of the error; 0: none
		wantReason string // in the error's Errors
		wantData   string // fmt of Data["v"]; "" when no answer
	}{
		{"an answer keeps numbers as written", 200, `{"data":{"v":12345678901234567890}}`, 0, "", "12345678901234567890"},
		{"no body", 204, ``, 0, "", ""},
		{"an error with reasons", 403, `{"errors":["permission denied"]}`, 403, "permission denied", ""},
		{"an error that is not JSON", 502, `bad gateway`, 502, "bad gateway", ""},
		{"a 404 with data is also an answer", 404, `{"data":{"v":"meta"}}`, 404, "", "meta"},
		{"a 404 without data is not", 404, `{"errors":[]}`, 404, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(c.status)
				w.Write([]byte(c.body))
			}))
			defer srv.Close()
			hc, err := newHTTPClient(srv.URL, TLS{}, 5*time.Second, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			a, err := hc.call(context.Background(), http.MethodGet, "x", "", "", nil, nil)
			if got := StatusCode(err); got != c.wantStatus {
				t.Errorf("error %v: status %d, want %d", err, got, c.wantStatus)
			}
			if c.wantReason != "" {
				if re, ok := err.(*ResponseError); !ok || strings.Join(re.Errors, ";") != c.wantReason {
					t.Errorf("error %#v, want reason %q", err, c.wantReason)
				}
			}
			switch {
			case c.wantData == "" && a != nil && a.Data != nil:
				t.Errorf("answer %+v, want none", a)
			case c.wantData != "" && (a == nil || a.Data["v"] == nil):
				t.Errorf("answer %+v, want data", a)
			case c.wantData != "":
				if n, ok := a.Data["v"].(json.Number); ok && n.String() != c.wantData {
					t.Errorf("number %s, want %s", n, c.wantData)
				} else if s, ok := a.Data["v"].(string); ok && s != c.wantData {
					t.Errorf("value %q, want %q", s, c.wantData)
				}
			}
		})
	}
}

func TestCallSendsTokenNamespaceAndBody(t *testing.T) {
	var got http.Header
	var body map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		json.NewDecoder(r.Body).Decode(&body)
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	hc, err := newHTTPClient(srv.URL, TLS{}, 5*time.Second, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hc.call(context.Background(), http.MethodPut, "auth/k/login", "tok", "team-a", nil, map[string]any{"role": "r"}); err != nil {
		t.Fatal(err)
	}
	if got.Get("X-Vault-Token") != "tok" || got.Get("X-Vault-Namespace") != "team-a" || got.Get("X-Vault-Request") != "true" {
		t.Errorf("headers %v", got)
	}
	if body["role"] != "r" {
		t.Errorf("body %v", body)
	}
}

func TestRedirectToHTTPIsRefused(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the token went to %s in the clear", r.URL)
	}))
	defer plain.Close()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer tlsSrv.Close()
	ca := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw}))
	hc, err := newHTTPClient(tlsSrv.URL, TLS{CACertPEM: ca}, 5*time.Second, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	_, err = hc.call(context.Background(), http.MethodGet, "secret/data/app", "tok", "", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "from https to http") {
		t.Errorf("error %v, want a refused downgrade", err)
	}
}

func TestTLSConfig(t *testing.T) {
	dir := t.TempDir()
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	srv.Close()
	ca := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, []byte(ca), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		tls     TLS
		wantErr string
		roots   bool
	}{
		{"system roots", TLS{}, "", false},
		{"inline CA", TLS{CACertPEM: ca}, "", true},
		{"CA file", TLS{CACertPath: caFile}, "", true},
		{"inline CA wins over a missing file", TLS{CACertPEM: ca, CACertPath: filepath.Join(dir, "none")}, "", true},
		{"no PEM in the CA", TLS{CACertPEM: "garbage"}, "no PEM certificate", false},
		{"missing CA file", TLS{CACertPath: filepath.Join(dir, "none")}, "read the CA", false},
		{"certificate without key", TLS{ClientCert: caFile}, "both the certificate and the key", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tc, err := c.tls.config()
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (tc.RootCAs != nil) != c.roots {
				t.Errorf("RootCAs set: %v, want %v", tc.RootCAs != nil, c.roots)
			}
		})
	}
}
