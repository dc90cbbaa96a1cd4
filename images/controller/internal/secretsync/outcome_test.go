// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package secretsync

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/deckhouse/secrets-store-integration/images/internal/params"
	"github.com/deckhouse/secrets-store-integration/images/internal/secretmodel"
	"github.com/deckhouse/secrets-store-integration/images/internal/store"
)

// A store at an address the import names itself may write anything in its
// answers; conditions and events say the class or the status, never that.
func TestForeignStoreErrorNeverQuotesTheStore(t *testing.T) {
	const canary = "CANARY-store-body-91c2"
	stop := make(chan struct{})
	defer close(stop)
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		trusted bool
		want    []string
		reason  string
	}{
		{"a JSON refusal", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"errors":["` + canary + `"]}`))
		}, true, []string{"permission denied"}, ReasonLoginRefused},
		{"an HTML error page", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte("<html>" + canary + "</html>"))
		}, true, []string{"HTTP 502"}, ReasonStoreUnreachable},
		{"an untrusted certificate", func(w http.ResponseWriter, _ *http.Request) {}, false, []string{"TLS: "}, ReasonStoreUnreachable},
		{"no answer", func(_ http.ResponseWriter, req *http.Request) {
			select {
			case <-req.Context().Done():
			case <-stop:
			}
		}, true, []string{"timeout: "}, ReasonStoreUnreachable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewTLSServer(tc.handler)
			// Close waits for handlers; the silent one waits for stop.
			defer func() { go srv.Close() }()
			p := secretmodel.Parameters{Source: "SecretsStoreImport team/app", Address: srv.URL, Role: "app", PodNamespace: "team", ServiceAccount: "app"}
			if tc.trusted {
				p.CACertPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
			}
			d := params.Defaults{Address: "https://stronghold.d8-stronghold:8300"}
			cfg, login := d.Connection(p)
			// Any well-formed JWT: the store here never checks it.
			login.JWT = "eyJhbGciOiJub25lIn0.eyJzdWIiOiAic3lzdGVtOnNlcnZpY2VhY2NvdW50OnRlYW06YXBwIiwgImV4cCI6IDQxMDI0NDQ4MDB9.x"
			sess, err := store.New(store.Options{RequestTimeout: 300 * time.Millisecond}).Session(cfg, login)
			if err != nil {
				t.Fatal(err)
			}
			_, err = sess.Read(context.Background(), store.Request{Path: "secret/data/app"})
			if err == nil {
				t.Fatal("a read from a failing store succeeded")
			}
			err = ForeignStoreError(err, d, p)
			f := readFailure(err)
			for _, c := range []string{f.synced().Message, f.ready().Message, err.Error()} {
				if strings.Contains(c, canary) {
					t.Fatalf("the status quotes the store's answer: %s", c)
				}
				for _, w := range tc.want {
					if !strings.Contains(c, w) {
						t.Errorf("message %q does not say %q", c, w)
					}
				}
			}
			if f.reason != tc.reason {
				t.Errorf("reason %s, want %s", f.reason, tc.reason)
			}
		})
	}
}

// The module's own store keeps its reasons: they tell what to fix.
func TestOwnStoreErrorKeepsReasons(t *testing.T) {
	err := &store.Error{Op: "read", Path: "secret/data/app", Status: http.StatusBadRequest, Reasons: []string{"no handler for route"}}
	d := params.Defaults{Address: "https://stronghold.d8-stronghold:8300"}
	for _, addr := range []string{"", d.Address} {
		if got := ForeignStoreError(err, d, secretmodel.Parameters{Address: addr}); !strings.Contains(got.Error(), "no handler for route") {
			t.Errorf("address %q: %v lost the reason", addr, got)
		}
	}
}
