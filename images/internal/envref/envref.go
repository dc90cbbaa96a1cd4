// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package envref parses and renders references to the store in environment
// variable values:
//
//	secrets-store:PATH#KEY               the value of KEY at PATH
//	secrets-store:PATH#KEY#VERSION       a pinned KV v2 version
//	secrets-store:PATH#${ TEMPLATE }     a Go template (Sprig) over PATH's data
//	...${secrets-store:PATH#KEY}...      a reference inside a larger value
//	>>secrets-store:PATH#KEY[#{JSON}]    a write (PUT, JSON body), e.g. a PKI
//	                                     certificate issued at start; KEY may be
//	                                     a template, as for reads
//	secrets-store:login                  the injector's store token, as the
//	                                     existing module's injector hands it
//	                                     (usually to VAULT_TOKEN)
//
// The webhook parses values at admission to refuse bad ones early; the
// injector parses them again at start and renders them.
package envref

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/deckhouse/secrets-store-integration/images/internal/secretdata"
	"github.com/deckhouse/secrets-store-integration/images/internal/store"
)

// Prefix marks a value (or, inside ${ }, a part of one) as a reference.
const Prefix = "secrets-store:"

const inlineOpen = "${" + Prefix

// Login is the reference, whole or inline, to the injector's own store
// token. The token is then the application's: the injector does not
// revoke it, and the webhook warns at admission.
const Login = "login"

// writePrefix marks the existing module's write form
// (>>secrets-store:PATH#KEY#{JSON}): a PUT with the JSON body, as the
// existing module's injector sends it.
const writePrefix = ">>" + Prefix

const inlineWriteOpen = "${" + writePrefix

// Template delimiters: ${ } instead of {{ }}, which Helm and other
// templating of manifests would eat.
const (
	LeftDelim  = "${"
	RightDelim = "}"
)

// Secret names one read of the store, or one write.
type Secret struct {
	Path string
	// Version pins a KV v2 version; 0 is the latest.
	Version int
	// Method is "" for a read, PUT for a write; Body is the write's JSON
	// object in canonical form (sorted keys), so that equal writes are
	// sent once.
	Method, Body string
}

// Args decodes Body for the store request; nil for a read or no body.
func (s Secret) Args() map[string]any {
	if s.Body == "" {
		return nil
	}
	var args map[string]any
	_ = json.Unmarshal([]byte(s.Body), &args) // checked by Parse
	return args
}

func (s Secret) String() string {
	if s.Method != "" {
		return ">>" + s.Path
	}
	if s.Version > 0 {
		return s.Path + "#" + strconv.Itoa(s.Version)
	}
	return s.Path
}

// Ref is one reference: a key of a secret, or a template over its data.
type Ref struct {
	Secret
	Key      string
	Template *secretdata.Template
	// Login is secrets-store:login: the store token, no secret read.
	Login bool
}

// Value is a parsed environment value: literal text and references.
type Value struct {
	parts []part
}

type part struct {
	literal string
	ref     *Ref
}

// Has reports whether s holds a reference, whole or inline; values without
// one are left as they are.
func Has(s string) bool {
	return strings.HasPrefix(s, Prefix) || strings.Contains(s, inlineOpen) || hasWrite(s)
}

func hasWrite(s string) bool {
	return strings.HasPrefix(s, writePrefix) || strings.Contains(s, inlineWriteOpen)
}

// Parse parses an environment value. A value without a reference parses
// to its literal text.
func Parse(s string) (Value, error) {
	if strings.HasPrefix(s, writePrefix) {
		r, err := parseWrite(strings.TrimPrefix(s, writePrefix), true)
		if err != nil {
			return Value{}, err
		}
		return Value{parts: []part{{ref: &r}}}, nil
	}
	if strings.HasPrefix(s, Prefix) {
		r, err := parseRef(strings.TrimPrefix(s, Prefix), true)
		if err != nil {
			return Value{}, err
		}
		return Value{parts: []part{{ref: &r}}}, nil
	}
	var v Value
	rest := s
	for {
		i, open, write := nextInline(rest)
		if i < 0 {
			if rest != "" {
				v.parts = append(v.parts, part{literal: rest})
			}
			return v, nil
		}
		if i > 0 {
			v.parts = append(v.parts, part{literal: rest[:i]})
		}
		body := rest[i+len(open):]
		end := strings.Index(body, RightDelim)
		if write {
			// A write's JSON body holds braces of its own.
			end = closingBrace(body)
		}
		if end < 0 {
			return Value{}, fmt.Errorf("reference %q has no closing %q", truncate(rest[i:]), RightDelim)
		}
		var r Ref
		var err error
		if write {
			r, err = parseWrite(body[:end], false)
		} else {
			r, err = parseRef(body[:end], false)
		}
		if err != nil {
			return Value{}, err
		}
		v.parts = append(v.parts, part{ref: &r})
		rest = body[end+len(RightDelim):]
	}
}

// nextInline finds the first inline reference in s, a read or a write.
func nextInline(s string) (at int, open string, write bool) {
	r, w := strings.Index(s, inlineOpen), strings.Index(s, inlineWriteOpen)
	switch {
	case w >= 0 && (r < 0 || w < r):
		return w, inlineWriteOpen, true
	case r >= 0:
		return r, inlineOpen, false
	}
	return -1, "", false
}

// closingBrace returns the index of the '}' that closes an inline write,
// counting the braces of its JSON body and skipping JSON strings; -1 if
// there is none.
func closingBrace(s string) int {
	depth, inString, escaped := 0, false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '{':
			depth++
		case c == '}':
			if depth == 0 {
				return i
			}
			depth--
		}
	}
	return -1
}

// parseWrite parses a write, PATH#KEY[#{JSON}]: the body is the last
// part that starts with '{', and must be a JSON object.
func parseWrite(s string, whole bool) (Ref, error) {
	ref := writePrefix + s
	path, key, ok := strings.Cut(s, "#")
	if !ok {
		return Ref{}, fmt.Errorf("reference %q has no key: want %sPATH#KEY[#{JSON}]", truncate(ref), writePrefix)
	}
	if err := store.ValidatePath(path); err != nil {
		return Ref{}, fmt.Errorf("reference %q: path %w", truncate(ref), err)
	}
	// Without a body the existing module's injector sends an empty JSON
	// object (vault/api Logical().Write of "{}"); so do we, so that an
	// engine that rejects an empty request body answers the same.
	r := Ref{Secret: Secret{Path: path, Method: http.MethodPut, Body: "{}"}}
	if i := strings.LastIndex(key, "#{"); i >= 0 {
		var args map[string]any
		if err := json.Unmarshal([]byte(key[i+1:]), &args); err != nil {
			return Ref{}, fmt.Errorf("reference %q: the body after the last '#' is not a JSON object: %w", truncate(ref), err)
		}
		canonical, err := json.Marshal(args)
		if err != nil {
			return Ref{}, fmt.Errorf("reference %q: encode the body: %w", truncate(ref), err)
		}
		r.Body, key = string(canonical), key[:i]
	}
	if err := r.setKey(ref, key, whole); err != nil {
		return Ref{}, err
	}
	return r, nil
}

// parseRef parses PATH#KEY[#VERSION]; templates only in whole values,
// since an inline reference ends at the first '}'.
func parseRef(s string, whole bool) (Ref, error) {
	if s == Login {
		return Ref{Login: true}, nil
	}
	path, key, ok := strings.Cut(s, "#")
	if !ok {
		return Ref{}, fmt.Errorf("reference %q has no key: want %sPATH#KEY", truncate(Prefix+s), Prefix)
	}
	if err := store.ValidatePath(path); err != nil {
		return Ref{}, fmt.Errorf("reference %q: path %w", truncate(Prefix+s), err)
	}
	r := Ref{Secret: Secret{Path: path}}
	if i := strings.LastIndex(key, "#"); i >= 0 {
		n, err := strconv.Atoi(key[i+1:])
		if err != nil || n <= 0 || strings.HasPrefix(key[i+1:], "+") {
			return Ref{}, fmt.Errorf("reference %q: version %q is not a positive number", truncate(Prefix+s), key[i+1:])
		}
		r.Version, key = n, key[:i]
	}
	if err := r.setKey(Prefix+s, key, whole); err != nil {
		return Ref{}, err
	}
	return r, nil
}

// setKey sets the key of r, or its template; ref is the reference as
// written, for errors.
func (r *Ref) setKey(ref, key string, whole bool) error {
	if key == "" {
		return fmt.Errorf("reference %q has an empty key", truncate(ref))
	}
	if strings.Contains(key, LeftDelim) {
		if !whole {
			return fmt.Errorf("reference %q: templates only in a whole value, not inside ${...}", truncate(ref))
		}
		t, err := secretdata.Parse(r.Path, key, LeftDelim, RightDelim)
		if err != nil {
			return fmt.Errorf("reference %q: %w", truncate(ref), err)
		}
		r.Template = t
		return nil
	}
	r.Key = key
	return nil
}

// truncate keeps error messages one readable line; references are not
// secret, but a whole manifest pasted by mistake should not fill a log.
func truncate(s string) string {
	const max = 120
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

// Refs returns the value's references in order.
func (v Value) Refs() []Ref {
	var out []Ref
	for _, p := range v.parts {
		if p.ref != nil {
			out = append(out, *p.ref)
		}
	}
	return out
}

// UsesLogin reports whether the value holds secrets-store:login.
func (v Value) UsesLogin() bool {
	for _, r := range v.Refs() {
		if r.Login {
			return true
		}
	}
	return false
}

// Issued reports whether the value is made anew at each start: it holds
// the store token or a write (a new certificate each time), so a change
// of its rendered text is not a change of the secrets.
func (v Value) Issued() bool {
	for _, r := range v.Refs() {
		if r.Login || r.Method != "" {
			return true
		}
	}
	return false
}

// Secrets returns the distinct secrets the value reads.
func (v Value) Secrets() []Secret {
	var out []Secret
	seen := map[Secret]bool{}
	for _, r := range v.Refs() {
		if !r.Login && !seen[r.Secret] {
			seen[r.Secret] = true
			out = append(out, r.Secret)
		}
	}
	return out
}

// ErrMissingKey is wrapped by Render when a key is not in the secret.
var ErrMissingKey = errors.New("key not found")

// MaxValueBytes bounds one rendered value: Linux refuses an environment
// string longer than 128 KiB (MAX_ARG_STRLEN) at exec.
const MaxValueBytes = 128 << 10

// Render builds the value from the data of its secrets, read beforehand,
// and token for secrets-store:login; templates within ctx's deadline and
// the value within MaxValueBytes. Errors name the path and key, never a
// value.
func (v Value) Render(ctx context.Context, data map[Secret]map[string]any, token string) (string, error) {
	var b strings.Builder
	for _, p := range v.parts {
		if p.ref == nil {
			b.WriteString(p.literal)
			continue
		}
		if p.ref.Login {
			if token == "" {
				return "", fmt.Errorf("%s%s: no store token to hand over", Prefix, Login)
			}
			b.WriteString(token)
			continue
		}
		d, ok := data[p.ref.Secret]
		if !ok {
			return "", fmt.Errorf("secret %s was not read", p.ref.Secret)
		}
		out, err := p.ref.render(ctx, d, int64(MaxValueBytes-b.Len()))
		if err != nil {
			return "", err
		}
		if b.Len()+len(out) > MaxValueBytes {
			return "", fmt.Errorf("value with %s exceeds %d bytes", p.ref.Secret, MaxValueBytes)
		}
		b.Write(out)
	}
	return b.String(), nil
}

func (r Ref) render(ctx context.Context, data map[string]any, room int64) ([]byte, error) {
	if r.Template != nil {
		if room <= 0 {
			return nil, fmt.Errorf("template at %s: value exceeds %d bytes", r.Secret, MaxValueBytes)
		}
		out, err := r.Template.Execute(ctx, data, room)
		if err != nil {
			return nil, fmt.Errorf("template at %s: %w", r.Secret, err)
		}
		return out, nil
	}
	val, ok := data[r.Key]
	if !ok {
		return nil, fmt.Errorf("%w: %q at %s", ErrMissingKey, r.Key, r.Secret)
	}
	out, err := secretdata.Value(val)
	if err != nil {
		return nil, fmt.Errorf("key %q at %s: %w", r.Key, r.Secret, err)
	}
	return out, nil
}
