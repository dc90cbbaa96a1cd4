// Package envref parses and renders references to the store in environment
// variable values:
//
//	secrets-store:PATH#KEY               the value of KEY at PATH
//	secrets-store:PATH#KEY#VERSION       a pinned KV v2 version
//	secrets-store:PATH#${ TEMPLATE }     a Go template (Sprig) over PATH's data
//	...${secrets-store:PATH#KEY}...      a reference inside a larger value
//	secrets-store:login                  the injector's store token, as the
//	                                     existing module's injector hands it
//	                                     (usually to VAULT_TOKEN)
//
// The webhook parses values at admission to refuse bad ones early; the
// injector parses them again at start and renders them.
package envref

import (
	"context"
	"errors"
	"fmt"
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
// (>>secrets-store:PATH#KEY#{JSON}). It is refused, never passed on as
// literal text: an application would start with that text instead of, say,
// the certificate it expects.
const writePrefix = ">>" + Prefix

// Template delimiters: ${ } instead of {{ }}, which Helm and other
// templating of manifests would eat.
const (
	LeftDelim  = "${"
	RightDelim = "}"
)

// Secret names one read of the store.
type Secret struct {
	Path string
	// Version pins a KV v2 version; 0 is the latest.
	Version int
}

func (s Secret) String() string {
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
	return strings.HasPrefix(s, writePrefix) || strings.Contains(s, "${"+writePrefix)
}

// errWrite says what to do instead of a write, which is not supported.
var errWrite = fmt.Errorf("writes to the store (%sPATH#KEY#{JSON}) are not supported in environment values: "+
	"issue the certificate or credential with a SecretsStoreImport or the CSI driver and read it from a file, "+
	"or read a stored value with %sPATH#KEY", writePrefix, Prefix)

// Parse parses an environment value. A value without a reference parses
// to its literal text.
func Parse(s string) (Value, error) {
	if hasWrite(s) {
		return Value{}, fmt.Errorf("reference %q: %w", truncate(s), errWrite)
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
		i := strings.Index(rest, inlineOpen)
		if i < 0 {
			if rest != "" {
				v.parts = append(v.parts, part{literal: rest})
			}
			return v, nil
		}
		if i > 0 {
			v.parts = append(v.parts, part{literal: rest[:i]})
		}
		body := rest[i+len(inlineOpen):]
		end := strings.Index(body, RightDelim)
		if end < 0 {
			return Value{}, fmt.Errorf("reference %q has no closing %q", truncate(rest[i:]), RightDelim)
		}
		r, err := parseRef(body[:end], false)
		if err != nil {
			return Value{}, err
		}
		v.parts = append(v.parts, part{ref: &r})
		rest = body[end+len(RightDelim):]
	}
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
	if key == "" {
		return Ref{}, fmt.Errorf("reference %q has an empty key", truncate(Prefix+s))
	}
	if strings.Contains(key, LeftDelim) {
		if !whole {
			return Ref{}, fmt.Errorf("reference %q: templates only in a whole value, not inside ${...}", truncate(Prefix+s))
		}
		t, err := secretdata.Parse(path, key, LeftDelim, RightDelim)
		if err != nil {
			return Ref{}, fmt.Errorf("reference %q: %w", truncate(Prefix+s), err)
		}
		r.Template = t
		return r, nil
	}
	r.Key = key
	return r, nil
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
