// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package render

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/deckhouse/secrets-store-integration/images/internal/secretmodel"
)

func TestContent(t *testing.T) {
	data := map[string]any{
		"password": "s3cr3t",
		"blob":     "AAEC/w==",
		"hexblob":  "00ff10",
		"port":     json.Number("5432"),
		"enabled":  true,
		"nested":   map[string]any{"a": "b"},
		"user":     "app",
	}
	cases := []struct {
		name string
		o    secretmodel.Object
		want string
	}{
		{"key", secretmodel.Object{SecretKey: "password"}, "s3cr3t"},
		{"number key", secretmodel.Object{SecretKey: "port"}, "5432"},
		{"bool key", secretmodel.Object{SecretKey: "enabled"}, "true"},
		{"object key as JSON", secretmodel.Object{SecretKey: "nested"}, `{"a":"b"}`},
		{"base64", secretmodel.Object{SecretKey: "blob", Encoding: secretmodel.EncodingBase64}, "\x00\x01\x02\xff"},
		{"hex", secretmodel.Object{SecretKey: "hexblob", Encoding: secretmodel.EncodingHex}, "\x00\xff\x10"},
		{"utf-8 is as is", secretmodel.Object{SecretKey: "password", Encoding: secretmodel.EncodingUTF8}, "s3cr3t"},
		{"whole secret", secretmodel.Object{}, `{"blob":"AAEC/w==","enabled":true,"hexblob":"00ff10","nested":{"a":"b"},"password":"s3cr3t","port":5432,"user":"app"}`},
		{"template", secretmodel.Object{Template: `postgres://{{ .user }}:{{ .password }}@db:{{ .port }}`}, "postgres://app:s3cr3t@db:5432"},
		{"template with sprig", secretmodel.Object{Template: `{{ .user | upper }}-{{ .password | b64enc }}`}, "APP-czNjcjN0"},
		{"template then base64", secretmodel.Object{Template: `{{ .blob }}`, Encoding: secretmodel.EncodingBase64}, "\x00\x01\x02\xff"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.o.Ref = "files[0]"
			got, err := Content(context.Background(), c.o, "secret/data/app", data, NewBudget(VolumeFileBytes, VolumeBytes))
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			if string(got) != c.want {
				t.Errorf("render = %q, want %q", got, c.want)
			}
		})
	}
}

func TestRenderErrorsNameTheProblemNotTheValue(t *testing.T) {
	data := map[string]any{"password": "s3cr3t!value", "num": "s3cr3t!value"}
	cases := []struct {
		name       string
		o          secretmodel.Object
		want       string
		keyMissing bool
	}{
		{"missing key", secretmodel.Object{SecretKey: "pass"}, `key "pass" not found at secret/data/app`, true},
		{"bad base64", secretmodel.Object{SecretKey: "password", Encoding: secretmodel.EncodingBase64}, "not valid base64", false},
		{"bad hex", secretmodel.Object{SecretKey: "password", Encoding: secretmodel.EncodingHex}, "not valid hex", false},
		{"encoding of whole secret", secretmodel.Object{Encoding: secretmodel.EncodingBase64}, "needs secretKey or template", false},
		{"template missing key", secretmodel.Object{Template: `{{ .nope }}`}, `map has no entry for key "nope"`, true},
		{"template parse", secretmodel.Object{Template: `{{ .password `}, "template:", false},
		{"template function error", secretmodel.Object{Template: `{{ .num | atoi | add 1 }}{{ fail .password }}`}, "error calling fail", false},
		{"no env", secretmodel.Object{Template: `{{ env "HOME" }}`}, `function "env" is not allowed: it reads the environment`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.o.Ref = "files[1]"
			_, err := Content(context.Background(), c.o, "secret/data/app", data, NewBudget(VolumeFileBytes, VolumeBytes))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error reveals the value: %v", err)
			}
			var re *Error
			if !errors.As(err, &re) {
				t.Errorf("error %T is not a render.Error", err)
			}
			if IsKeyMissing(err) != c.keyMissing {
				t.Errorf("IsKeyMissing = %v, want %v", !c.keyMissing, c.keyMissing)
			}
		})
	}
}

// TestBudget: a volume's files are bounded each and together, and a
// template stops at what is left instead of rendering all of it first.
func TestBudget(t *testing.T) {
	data := map[string]any{"k": strings.Repeat("v", 600)}
	b := NewBudget(1000, 1100)
	ctx := context.Background()
	key := secretmodel.Object{Ref: "files[0]", SecretKey: "k"}
	if _, err := Content(ctx, key, "secret/data/app", data, b); err != nil {
		t.Fatalf("first file: %v", err)
	}
	tmpl := secretmodel.Object{Ref: "files[1]", Template: `{{ .k }}{{ .k }}`}
	_, err := Content(ctx, tmpl, "secret/data/app", data, b)
	if err == nil || err.Error() != "template output exceeds 500 bytes" {
		t.Fatalf("template past the volume's room: %v", err)
	}
	if _, err := Content(ctx, key, "secret/data/app", data, b); err == nil || err.Error() != "content exceeds the limit of 1100 bytes for all files together" {
		t.Fatalf("second key file: %v", err)
	}
	big := map[string]any{"k": strings.Repeat("v", 1001)}
	if _, err := Content(ctx, key, "secret/data/app", big, NewBudget(1000, 5000)); err == nil || err.Error() != "content of 1001 bytes exceeds the limit of 1000 bytes per file" {
		t.Fatalf("one file over the limit: %v", err)
	}
}
