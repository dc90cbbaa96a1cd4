// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package envref

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseAndRender(t *testing.T) {
	data := map[Secret]map[string]any{
		{Path: "secret/data/db"}:             {"user": "app", "password": "s3cr3t", "port": 5432.0},
		{Path: "secret/data/db", Version: 2}: {"user": "app", "password": "old"},
		{Path: "kv1/api"}:                    {"token": "t0k"},
	}
	tests := []struct {
		in, want string
		secrets  int
	}{
		{"plain value", "plain value", 0},
		{"", "", 0},
		{"secrets-store:secret/data/db#password", "s3cr3t", 1},
		{"secrets-store:secret/data/db#password#2", "old", 1},
		{"secrets-store:secret/data/db#port", "5432", 1},
		{"secrets-store:secret/data/db#${ .user }:${ .password | upper }", "app:S3CR3T", 1},
		{"secrets-store:secret/data/db#${ .user }#2", "app", 1},
		{"postgres://${secrets-store:secret/data/db#user}:${secrets-store:secret/data/db#password}@db:5432", "postgres://app:s3cr3t@db:5432", 1},
		{"${secrets-store:kv1/api#token}/${secrets-store:secret/data/db#password#2}", "t0k/old", 2},
		{"not secrets-store:secret/data/db#password", "not secrets-store:secret/data/db#password", 0},
		{"${HOME} stays", "${HOME} stays", 0},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			v, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := len(v.Secrets()); got != tt.secrets {
				t.Errorf("secrets = %d, want %d", got, tt.secrets)
			}
			if Has(tt.in) != (tt.secrets > 0) {
				t.Errorf("Has = %v, want %v", Has(tt.in), tt.secrets > 0)
			}
			got, err := v.Render(context.Background(), data, "")
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if got != tt.want {
				t.Errorf("Render = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseRefusesBadReferences(t *testing.T) {
	tests := []struct{ in, want string }{
		{"secrets-store:secret/data/db", "has no key"},
		{`>>secrets-store:pki/issue/web#certificate#{"common_name":}`, "is not a JSON object"},
		{`>>secrets-store:pki/issue/web`, "has no key"},
		{`>>secrets-store:/sys/raw#k`, "must be relative"},
		{`a=${>>secrets-store:pki/issue/web#certificate#{"common_name":"a"}`, "no closing"},
		{`a=${>>secrets-store:pki/issue/web#${ .certificate }}`, "templates only in a whole value"},
		{"secrets-store:#key", "empty secret path"},
		{"secrets-store:/secret/db#key", "must be relative"},
		{"secrets-store:secret/../sys/raw#key", "must be relative"},
		{"secrets-store:secret/db#", "empty key"},
		{"secrets-store:secret/db#key#x", `version "x" is not a positive number`},
		{"secrets-store:secret/db#key#0", `version "0" is not a positive number`},
		{"secrets-store:secret/db#key#-1", `version "-1"`},
		{"secrets-store:secret/db##3", "empty key"},
		{"secrets-store:secret/db#${ .a ", "template:"},
		{"secrets-store:secret/db#${ nosuchfunc .a }", `function "nosuchfunc" not defined`},
		{"secrets-store:secret/db#${ env \"HOME\" }", `function "env" is not allowed: it reads the environment`},
		{"secrets-store:secret/db#${ repeat 1000000000 .a }", `function "repeat" is not allowed: it allocates as much as its argument asks`},
		{"x=${secrets-store:secret/db#key", "no closing"},
		{"x=${secrets-store:secret/db}", "has no key"},
		{"x=${secrets-store:secret/db#${ .a }}", "templates only in a whole value"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := Parse(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse(%q) = %v, want an error with %q", tt.in, err, tt.want)
			}
		})
	}
}

// >>secrets-store: is a PUT with the JSON body, whole or inline; equal
// writes (bodies in any key order) are one write.
func TestWrite(t *testing.T) {
	issue := Secret{Path: "pki/issue/web", Method: "PUT", Body: `{"common_name":"a.example.com","ttl":"1h"}`}
	data := map[Secret]map[string]any{
		issue: {"certificate": "CERT", "private_key": "KEY"},
		{Path: "pki/root/generate/internal", Method: "PUT", Body: "{}"}: {"certificate": "ROOT"},
	}
	tests := []struct {
		in, want string
		secrets  []Secret
	}{
		{`>>secrets-store:pki/issue/web#certificate#{"common_name":"a.example.com","ttl":"1h"}`, "CERT", []Secret{issue}},
		{`>>secrets-store:pki/issue/web#${ .certificate }${ .private_key }#{"ttl":"1h","common_name":"a.example.com"}`, "CERTKEY", []Secret{issue}},
		{`>>secrets-store:pki/root/generate/internal#certificate`, "ROOT", []Secret{{Path: "pki/root/generate/internal", Method: "PUT", Body: "{}"}}},
		{`pem=${>>secrets-store:pki/issue/web#certificate#{"common_name":"a.example.com","ttl":"1h"}};key=${>>secrets-store:pki/issue/web#private_key#{"ttl":"1h","common_name":"a.example.com"}}`,
			"pem=CERT;key=KEY", []Secret{issue}},
		{`${>>secrets-store:pki/issue/web#certificate#{"common_name":"a.example.com","ttl":"1h"}}/${secrets-store:kv/x#k}`, "CERT/v", []Secret{issue, {Path: "kv/x"}}},
	}
	data[Secret{Path: "kv/x"}] = map[string]any{"k": "v"}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if !Has(tt.in) {
				t.Fatalf("Has = false")
			}
			v, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := v.Secrets(); !slices.Equal(got, tt.secrets) {
				t.Errorf("Secrets = %+v, want %+v", got, tt.secrets)
			}
			got, err := v.Render(context.Background(), data, "")
			if err != nil || got != tt.want {
				t.Fatalf("Render = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if got := issue.Args(); got["common_name"] != "a.example.com" || got["ttl"] != "1h" {
		t.Errorf("Args = %v", got)
	}
}

// secrets-store:login is the injector's store token, whole or inline, and
// reads no secret.
func TestLogin(t *testing.T) {
	data := map[Secret]map[string]any{{Path: "secret/data/db"}: {"user": "app"}}
	tests := []struct{ in, want string }{
		{"secrets-store:login", "hvs.tok"},
		{"Bearer ${secrets-store:login}", "Bearer hvs.tok"},
		{"${secrets-store:secret/data/db#user}:${secrets-store:login}", "app:hvs.tok"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if !Has(tt.in) {
				t.Fatalf("Has(%q) = false", tt.in)
			}
			v, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !v.UsesLogin() {
				t.Errorf("UsesLogin = false")
			}
			for _, s := range v.Secrets() {
				if s.Path == Login {
					t.Errorf("login counted as a secret to read: %+v", s)
				}
			}
			got, err := v.Render(context.Background(), data, "hvs.tok")
			if err != nil || got != tt.want {
				t.Fatalf("Render = %q, %v; want %q", got, err, tt.want)
			}
			if _, err := v.Render(context.Background(), data, ""); err == nil {
				t.Fatalf("Render without a token succeeded")
			}
		})
	}
	v, _ := Parse("secrets-store:secret/data/db#user")
	if v.UsesLogin() {
		t.Errorf("UsesLogin of a plain reference = true")
	}
}

func TestRenderErrorsNameKeyNotValue(t *testing.T) {
	data := map[Secret]map[string]any{{Path: "secret/data/db"}: {"password": "s3cr3t"}}
	tests := []struct{ in, want string }{
		{"secrets-store:secret/data/db#user", `key not found: "user" at secret/data/db`},
		{"secrets-store:secret/data/db#${ .user }", "template at secret/data/db"},
		{"secrets-store:secret/data/db#${ .password | mustFromJson }", "error calling mustFromJson"},
		{"secrets-store:kv1/other#key", "secret kv1/other was not read"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			v, err := Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.Render(context.Background(), data, "")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Render = %v, want an error with %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Fatalf("error quotes the secret: %v", err)
			}
		})
	}
	v, _ := Parse("secrets-store:secret/data/db#user")
	if _, err := v.Render(context.Background(), data, ""); !errors.Is(err, ErrMissingKey) {
		t.Fatalf("missing key error %v is not ErrMissingKey", err)
	}
}

// FuzzParse checks that any value parses or fails cleanly, that a value
// without a reference renders to itself, and that references round-trip
// through Secrets.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"secrets-store:secret/data/db#password",
		"secrets-store:secret/data/db#password#3",
		"secrets-store:secret/data/db#${ .user }:${ .password }",
		"a${secrets-store:kv/x#k}b${secrets-store:kv/y#k#2}c",
		"${secrets-store:",
		"secrets-store:#",
		"${HOME}",
		"plain",
		"secrets-store:login",
		"Bearer ${secrets-store:login}",
		`>>secrets-store:pki/issue/web#certificate#{"common_name":"a.example.com"}`,
		`x${>>secrets-store:pki/issue/web#certificate#{"a":"}{\"","b":{"c":1}}}y`,
		`>>secrets-store:pki/root/generate/internal#certificate`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Parse(s)
		if err != nil {
			if !Has(s) {
				t.Fatalf("Parse(%q) failed without a reference: %v", s, err)
			}
			return
		}
		secrets := v.Secrets()
		if !Has(s) {
			if len(secrets) != 0 {
				t.Fatalf("Parse(%q) found references Has does not see", s)
			}
			got, err := v.Render(context.Background(), nil, "")
			if err != nil || got != s {
				t.Fatalf("literal %q rendered to %q, %v", s, got, err)
			}
		}
		for _, sec := range secrets {
			if sec.Path == "" || sec.Version < 0 || (sec.Body != "" && sec.Args() == nil) {
				t.Fatalf("Parse(%q) gave secret %+v", s, sec)
			}
		}
	})
}
