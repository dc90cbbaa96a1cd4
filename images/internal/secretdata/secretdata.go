// Package secretdata turns the data of a secret read from the store into
// text: one key's value, or a Go template (with Sprig) over all of it. The
// CSI provider renders files with it and the env injector environment
// variables, so both read values the same way. Errors never quote a value.
package secretdata

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
)

// funcMap is Sprig without the functions that read the process's own
// environment: a template is user input and must only see the secret.
var funcMap = func() template.FuncMap {
	m := sprig.TxtFuncMap()
	delete(m, "env")
	delete(m, "expandenv")
	return m
}()

// Value is the text of one value: strings as they are, other JSON values
// (numbers, booleans, objects) in their JSON form.
func Value(v any) ([]byte, error) {
	switch t := v.(type) {
	case string:
		return []byte(t), nil
	case json.Number:
		return []byte(t.String()), nil
	case nil:
		return []byte{}, nil
	default:
		b, err := json.Marshal(t)
		if err != nil {
			return nil, errors.New("not representable as JSON")
		}
		return b, nil
	}
}

// Template is a parsed template over a secret's data.
type Template struct{ t *template.Template }

// Parse parses text with the given delimiters ("" for the defaults {{ }}).
// A missing key is an error at execution, not an empty string.
func Parse(name, text, left, right string) (*Template, error) {
	t, err := template.New(name).Delims(left, right).Option("missingkey=error").Funcs(funcMap).Parse(text)
	if err != nil {
		// Parse errors quote the template, which is not secret.
		return nil, fmt.Errorf("template: %w", err)
	}
	return &Template{t: t}, nil
}

// Execute runs the template over data.
func (t *Template) Execute(data map[string]any) ([]byte, error) {
	var buf bytes.Buffer
	if err := t.t.Execute(&buf, data); err != nil {
		return nil, errors.New(scrubExecError(err))
	}
	return buf.Bytes(), nil
}

// scrubExecError keeps where a template failed but drops what a function
// said about its arguments: that may be a secret value (e.g. atoi's
// `parsing "s3cr3t"`).
func scrubExecError(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "error calling "); i >= 0 {
		rest := msg[i+len("error calling "):]
		if j := strings.Index(rest, ":"); j >= 0 {
			return msg[:i] + "error calling " + rest[:j]
		}
	}
	return msg
}
