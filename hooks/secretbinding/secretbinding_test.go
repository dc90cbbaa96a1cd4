// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package secretbinding

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/deckhouse/module-sdk/pkg/jq"
)

// The filter is what addon-operator runs on the Secret before the hook sees
// it: only the named keys pass, base64 as served; absent keys are null.
func TestJqFilterKeepsOnlyTheNamedKeys(t *testing.T) {
	filter := JqFilter(map[string]string{"caCrt": "ca.crt", "tlsCrt": "tls.crt"})
	q, err := jq.NewQuery(filter)
	if err != nil {
		t.Fatalf("filter %q: %v", filter, err)
	}
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	secret := map[string]any{
		"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{"name": "stronghold-tls", "namespace": "d8-stronghold"},
		"data":     map[string]any{"tls.crt": b64("CERT"), "tls.key": b64("PRIVATE KEY")},
	}
	res, err := q.FilterObject(context.Background(), secret)
	if err != nil {
		t.Fatal(err)
	}
	out := res.String()
	if strings.Contains(out, b64("PRIVATE KEY")) || strings.Contains(out, "tls.key") {
		t.Fatalf("the filter lets the private key through: %s", out)
	}
	var got struct {
		CACrt  []byte `json:"caCrt"`
		TLSCrt []byte `json:"tlsCrt"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("filter output %s: %v", out, err)
	}
	if string(got.TLSCrt) != "CERT" || got.CACrt != nil {
		t.Fatalf("got tlsCrt %q caCrt %q from %s, want CERT and nothing", got.TLSCrt, got.CACrt, out)
	}
}
