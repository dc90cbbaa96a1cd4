package secretdata

import (
	"encoding/json"
	"strings"
	"testing"
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
		{"no env access", `{{ env "HOME" }}`, "", "", "", `function "env" not defined`},
		{"function errors do not quote values", `{{ .password | mustFromJson }}`, "", "", "", "error calling mustFromJson"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := Parse("t", tt.text, tt.left, tt.right)
			var out []byte
			if err == nil {
				out, err = tmpl.Execute(data)
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
