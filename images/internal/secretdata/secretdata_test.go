// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package secretdata

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValue(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{"text", "text"},
		{json.Number("5432"), "5432"},
		{5432.0, "5432"},
		{true, "true"},
		{nil, ""},
		{map[string]any{"a": []any{1.0, "b"}}, `{"a":[1,"b"]}`},
	}
	for _, tt := range tests {
		got, err := Value(tt.in)
		if err != nil || string(got) != tt.want {
			t.Errorf("Value(%#v) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestTemplate(t *testing.T) {
	data := map[string]any{"user": "app", "password": "s3cr3t"}
	tests := []struct {
		name, text, left, right, want, err string
	}{
		{"default delimiters", `{{ .user }}:{{ .password | upper }}`, "", "", "app:S3CR3T", ""},
		{"env delimiters", `${ .user }@${ .password | b64enc }`, "${", "}", "app@czNjcjN0", ""},
		{"missing key is an error", `{{ .nope }}`, "", "", "", `map has no entry for key "nope"`},
		{"no env access", `{{ env "HOME" }}`, "", "", "", `function "env" is not allowed: it reads the environment`},
		{"indent stays", `{{ .user | indent 2 }}`, "", "", "  app", ""},
		{"printf stays", `{{ printf "%05d-%s" 7 .user }}`, "", "", "00007-app", ""},
		{"replace stays", `{{ .user | replace "p" "P" }}`, "", "", "aPP", ""},
		{"function errors do not quote values", `{{ .password | mustFromJson }}`, "", "", "", "error calling mustFromJson"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := Parse("t", tt.text, tt.left, tt.right)
			var out []byte
			if err == nil {
				out, err = tmpl.Execute(context.Background(), data, 0)
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				if strings.Contains(err.Error(), "s3cr3t") {
					t.Fatalf("error quotes the value: %v", err)
				}
				return
			}
			if err != nil || string(out) != tt.want {
				t.Fatalf("got %q, %v; want %q", out, err, tt.want)
			}
		})
	}
}

// TestHostileTemplates: each way a template could take the memory or the
// time of the process that renders it gets a clear error, at parse or at
// execution, and stops early.
func TestHostileTemplates(t *testing.T) {
	data := map[string]any{"user": "app", "list": []any{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z", "1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "!", "@", "#", "$"}}
	tests := []struct {
		name, text string
		parseErr   string
		execErr    string
	}{
		{"repeat", `{{ repeat 1000000000 "x" }}`, `function "repeat" is not allowed: it allocates as much as its argument asks`, ""},
		{"until", `{{ range until 1000000000 }}x{{ end }}`, `function "until" is not allowed`, ""},
		{"untilStep", `{{ untilStep 0 1000000000 1 }}`, `function "untilStep" is not allowed`, ""},
		{"seq", `{{ seq 1000000000 }}`, `function "seq" is not allowed`, ""},
		{"genPrivateKey", `{{ genPrivateKey "rsa" }}`, `function "genPrivateKey" is not allowed: key generation`, ""},
		{"genCA", `{{ genCA "x" 365 }}`, `function "genCA" is not allowed`, ""},
		{"genSelfSignedCert", `{{ genSelfSignedCert "x" nil nil 365 }}`, `function "genSelfSignedCert" is not allowed`, ""},
		{"derivePassword", `{{ derivePassword 1 "long" "p" "u" "s" }}`, `function "derivePassword" is not allowed`, ""},
		{"getHostByName", `{{ getHostByName "example.com" }}`, `function "getHostByName" is not allowed: it sends DNS queries`, ""},
		{"expandenv", `{{ expandenv "$HOME" }}`, `function "expandenv" is not allowed`, ""},
		{"randAlphaNum", `{{ randAlphaNum 1000000000 }}`, `function "randAlphaNum" is not allowed`, ""},
		{"the existing injector's file", `{{ file "/etc/passwd" }}`, `function "file" (of the existing module's injector) is not supported: there it pastes a file of the application's container with newlines as \n; templates here see only the secret's data and read no files: put the file's content in the store`, ""},
		{"the existing injector's accessor", `{{ accessor }}`, `function "accessor" (of the existing module's injector) is not supported: there it gives only the text __accessor__PATH, never a real mount accessor; write that text literally`, ""},
		{"output", `{{ range 100000 }}0123456789{{ end }}`, "", "template output exceeds 65536 bytes"},
		{"silent loop", `{{ range 100000000 }}{{ end }}`, "", limitHit},
		{"nested loops", `{{ range $.list }}{{ range $.list }}{{ range $.list }}{{ range $.list }}{{ end }}{{ end }}{{ end }}{{ end }}`, "", limitHit},
		{"doubling", `{{ $x := "0123456789" }}{{ range $.list }}{{ $x = cat $x $x }}{{ end }}`, "", "cat returned a value of"},
		{"list doubling", `{{ $x := list 1 2 3 4 }}{{ range $.list }}{{ $x = concat $x $x }}{{ end }}`, "", "concat returned a value of"},
		{"recursion", `{{ define "a" }}{{ template "a" . }}{{ template "a" . }}{{ end }}{{ template "a" . }}`, "", limitHit},
		{"indent", `{{ indent 100000000 "x" }}`, "", "indent of 100000000 spaces: at most 1024"},
		{"printf width", `{{ printf "%0999999999d" 1 }}`, "", "printf: width or precision 999999999 is more than 1024"},
		{"printf star", `{{ printf "%*d" 999999999 1 }}`, "", "printf: a width or precision from an argument"},
		{"replace empty", `{{ replace "" "0123456789" (cat .user .user .user .user) }}`, "", ""},
		{"replace product", `{{ $x := "0123456789" }}{{ range $.list }}{{ $x = printf "%s%s" $x "0123456789" }}{{ end }}{{ replace "" $x $x }}`, "", "replace could make a value of more than 65536 bytes"},
		{"regex empty match", `{{ $x := "0123456789" }}{{ range $.list }}{{ $x = printf "%s%s" $x "0123456789" }}{{ end }}{{ regexReplaceAll "x*" $x $x }}`, "", "regexReplaceAll could make a value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := Parse("t", tt.text, "", "")
			if tt.parseErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.parseErr) {
					t.Fatalf("parse error %v, want %q", err, tt.parseErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			out, err := tmpl.Execute(context.Background(), data, 64<<10)
			if tt.execErr == "" {
				// Bounded one way or another: depth, steps or size.
				if err == nil && len(out) > 64<<10 {
					t.Fatalf("%d bytes of output", len(out))
				}
				return
			}
			if tt.execErr == limitHit {
				// Steps or time, whichever comes first on a busy machine.
				var le *LimitError
				if !errors.As(err, &le) || !(strings.Contains(err.Error(), "loop iterations") || strings.Contains(err.Error(), "in time")) {
					t.Fatalf("error %v, want a loop bound", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.execErr) {
				t.Fatalf("error %v, want %q", err, tt.execErr)
			}
		})
	}
}

// limitHit: any bound on steps or time.
const limitHit = "\x00limit"

func TestTemplateDeadline(t *testing.T) {
	tmpl, err := Parse("t", `{{ range 100000000 }}{{ end }}`, "", "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithDeadline(context.Background(), time.Now())
	defer cancel()
	_, err = tmpl.Execute(ctx, nil, 0)
	var le *LimitError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "template did not finish in time") {
		t.Fatalf("error %v, want the deadline", err)
	}
}

// FuzzParse: any template text parses or fails with an error, and what
// parses runs within its bounds over sample data without panicking.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{{ .user }}`, `{{ .password | b64enc }}`, `{{ range $k, $v := . }}{{ $k }}={{ $v }}{{ end }}`,
		`{{ repeat 5 "x" }}`, `{{ define "a" }}{{ template "a" }}{{ end }}{{ template "a" }}`,
		`{{ printf "%5.2f" 1.5 }}`, `{{ indent 4 .user }}`, `{{ range 10 }}{{ end }}`, `{{`, `{{ if }}`,
	} {
		f.Add(s)
	}
	data := map[string]any{"user": "app", "password": "s3cr3t", "n": json.Number("3")}
	f.Fuzz(func(t *testing.T, text string) {
		tmpl, err := Parse("fuzz", text, "", "")
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		out, err := tmpl.Execute(ctx, data, 4<<10)
		if err == nil && len(out) > 4<<10 {
			t.Fatalf("%d bytes of output over a limit of 4096", len(out))
		}
	})
}
