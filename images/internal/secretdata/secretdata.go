// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package secretdata turns the data of a secret read from the store into
// text: one key's value, or a Go template (with Sprig) over all of it. The
// CSI provider renders files with it and the env injector environment
// variables, so both read values the same way. Errors never quote a value.
package secretdata

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"text/template"

	"github.com/Masterminds/sprig/v3"
)

// funcMap is Sprig; limits.go removes what a template may not call.
var funcMap = sprig.TxtFuncMap()

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

// Template is a parsed template over a secret's data. Its executions are
// bounded (see limits.go) and run one at a time.
type Template struct {
	mu sync.Mutex
	t  *template.Template
	r  *run
}

// Parse parses text with the given delimiters ("" for the defaults {{ }}).
// A missing key is an error at execution, not an empty string. A removed
// function is an error here, with the reason.
func Parse(name, text, left, right string) (*Template, error) {
	r := &run{ctx: context.Background(), maxBytes: DefaultMaxBytes}
	t, err := template.New(name).Delims(left, right).Option("missingkey=error").Funcs(funcsFor(r)).Parse(text)
	if err != nil {
		// Parse errors quote the template, which is not secret.
		return nil, fmt.Errorf("template: %w", explainRemoved(err))
	}
	instrument(t, tickNode)
	return &Template{t: t, r: r}, nil
}

// Execute runs the template over data, at most RenderTimeout (or until ctx
// ends) and for at most maxBytes of output (0: DefaultMaxBytes); a bound
// hit is a *LimitError.
func (t *Template) Execute(ctx context.Context, data map[string]any, maxBytes int64) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	ctx, cancel := context.WithTimeout(ctx, RenderTimeout)
	defer cancel()
	*t.r = run{ctx: ctx, maxBytes: maxBytes}
	w := &boundedWriter{r: t.r}
	err := t.t.Execute(w, data)
	if t.r.err != nil {
		return nil, t.r.err
	}
	if err != nil {
		return nil, errors.New(scrubExecError(err))
	}
	return w.buf, nil
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
