// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package environ builds the application's environment: it takes the
// container's variables, drops the injector's own configuration, reads the
// secrets that references and env-from-path name, and renders the values.
// The env injector (entrypoint delivery) and the NRI plugin (containerd
// delivery) both build with it, so a reference means the same in both.
package environ

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/deckhouse/secrets-store-integration/images/internal/envref"
	"github.com/deckhouse/secrets-store-integration/images/internal/injection"
	"github.com/deckhouse/secrets-store-integration/images/internal/secretdata"
	"github.com/deckhouse/secrets-store-integration/images/internal/store"
)

// Reader reads one secret; *store.Session is one.
type Reader interface {
	Read(ctx context.Context, req store.Request) (*store.Secret, error)
}

// Lease is a lease of a secret that was read: renewable (dynamic secrets)
// or only a duration (KV v1 ttl).
type Lease struct {
	Path      string
	ID        string
	Duration  time.Duration
	Renewable bool
}

// Result is the application's environment and what it was built from.
type Result struct {
	// Env is the environment in os.Environ form, sorted by name.
	Env []string
	// Leases of the secrets read, for watch-for-lease.
	Leases []Lease
	// Digest is a hash of every value taken from the store, to tell a
	// change (watch-for-data) without keeping the values twice.
	Digest [sha256.Size]byte
	// Skipped are variables left out because their secret is missing and
	// ignore-missing-secrets is set.
	Skipped []string
	// TokenHanded is set when a variable took the store token
	// (secrets-store:login): the application owns it now, so the injector
	// must not revoke it.
	TokenHanded bool
}

// Options are the parts of the injector's configuration that decide the
// environment.
type Options struct {
	EnvFromPath   []envref.Secret
	IgnoreMissing bool
	Log           *slog.Logger
	// Token returns the store token that secrets-store:login hands over.
	Token func(context.Context) (string, error)
}

type variable struct {
	name, value string
	parsed      envref.Value
	ref         bool
}

// Build resolves environ (os.Environ form). Keys of env-from-path secrets
// win over the container's own variables, references or not, and among
// env-from-path secrets later ones win, as in the existing module. Errors name the variable and the
// path and say what the store answered; they never hold a value.
func Build(ctx context.Context, r Reader, environ []string, opts Options) (Result, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	vars, err := parse(environ)
	if err != nil {
		return Result{}, err
	}
	secrets := needed(vars, opts.EnvFromPath)
	data, leases, missing, err := read(ctx, r, secrets, opts.IgnoreMissing)
	if err != nil {
		return Result{}, annotate(err, vars)
	}

	var token string
	if slices.ContainsFunc(vars, func(v variable) bool { return v.parsed.UsesLogin() }) {
		if opts.Token == nil {
			return Result{}, fmt.Errorf("%s%s: no store token to hand over", envref.Prefix, envref.Login)
		}
		if token, err = opts.Token(ctx); err != nil {
			return Result{}, fmt.Errorf("%s%s: %w", envref.Prefix, envref.Login, err)
		}
	}

	out := map[string]string{}
	fromStore := map[string]bool{}
	// digested holds what stands for a value in the digest where it is
	// not the value itself.
	digested := map[string]string{}
	var res Result
	// handed holds the variables that took the store token.
	handed := map[string]bool{}
	var errs []error
	for _, v := range vars {
		if !v.ref {
			out[v.name] = v.value
			delete(fromStore, v.name)
			continue
		}
		if skip := missingSecret(v.parsed, missing); skip != "" {
			opts.Log.Warn("secret not found; variable left out (ignore-missing-secrets)", "variable", v.name, "path", skip)
			res.Skipped = append(res.Skipped, v.name)
			delete(out, v.name)
			delete(fromStore, v.name)
			continue
		}
		val, err := v.parsed.Render(ctx, data, token)
		if err != nil {
			if opts.IgnoreMissing && errors.Is(err, envref.ErrMissingKey) {
				opts.Log.Warn("key not found; variable left out (ignore-missing-secrets)", "variable", v.name, "error", err.Error())
				res.Skipped = append(res.Skipped, v.name)
				delete(out, v.name)
				delete(fromStore, v.name)
				continue
			}
			errs = append(errs, fmt.Errorf("variable %s: %w", v.name, err))
			continue
		}
		out[v.name] = val
		fromStore[v.name] = true
		if v.parsed.UsesLogin() {
			handed[v.name] = true
		}
		if v.parsed.Issued() {
			// Each rebuild logs in and writes anew: a new token or
			// certificate is not a change of the secrets, so the
			// reference itself stands for the value.
			digested[v.name] = v.value
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Result{}, err
	}
	// env-from-path is applied last, as the existing module's injector
	// does: its keys win over the container's own variables of the same
	// name. Loader variables are refused, so a secret cannot take over
	// how the program starts.
	for _, sec := range opts.EnvFromPath {
		d, ok := data[sec]
		if !ok {
			continue // missing and ignored
		}
		for _, k := range sortedKeys(d) {
			if !validName(k) {
				opts.Log.Warn("key is not a valid variable name; left out", "path", sec.String(), "key", k)
				continue
			}
			if why := loaderVariable(k); why != "" {
				return Result{}, fmt.Errorf("env-from-path %s: key %q may not be set from the store: %s; "+
					"remove the key from the secret, or set the variable in the container itself", sec, k, why)
			}
			v, err := secretdata.Value(d[k])
			if err != nil {
				return Result{}, fmt.Errorf("env-from-path %s: key %q: %w", sec, k, err)
			}
			out[k] = string(v)
			fromStore[k] = true
			delete(digested, k)
			delete(handed, k)
		}
	}
	res.TokenHanded = len(handed) > 0
	for _, name := range sortedKeys(out) {
		res.Env = append(res.Env, name+"="+out[name])
	}
	// The digest covers what came from the store; plain variables cannot
	// change while the container runs.
	h := sha256.New()
	for _, name := range sortedKeys(out) {
		if fromStore[name] {
			val, ok := digested[name]
			if !ok {
				val = out[name]
			}
			fmt.Fprintf(h, "%d:%s=%d:%s\x00", len(name), name, len(val), val)
		}
	}
	h.Sum(res.Digest[:0])
	res.Leases = leases
	return res, nil
}

// parse splits environ, drops the injector's own variables and parses the
// references; every bad reference is reported, each with its variable.
func parse(environ []string) ([]variable, error) {
	var vars []variable
	var errs []error
	seen := map[string]int{}
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" || injection.IsConfigVar(name) {
			continue
		}
		v := variable{name: name, value: value}
		if envref.Has(value) {
			p, err := envref.Parse(value)
			if err != nil {
				errs = append(errs, fmt.Errorf("variable %s: %w", name, err))
				continue
			}
			v.parsed, v.ref = p, true
		}
		// The last definition wins, as in a shell.
		if i, dup := seen[name]; dup {
			vars[i] = v
			continue
		}
		seen[name] = len(vars)
		vars = append(vars, v)
	}
	return vars, errors.Join(errs...)
}

// needed lists the distinct secrets to read, env-from-path first.
func needed(vars []variable, fromPath []envref.Secret) []envref.Secret {
	var out []envref.Secret
	for _, s := range fromPath {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	for _, v := range vars {
		for _, s := range v.parsed.Secrets() {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

// readError is a failed read of one secret; annotate adds the variables
// that needed it.
type readError struct {
	secret envref.Secret
	err    error
}

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// read reads every secret once. Missing secrets are collected, not failed,
// when ignoreMissing is set.
func read(ctx context.Context, r Reader, secrets []envref.Secret, ignoreMissing bool) (map[envref.Secret]map[string]any, []Lease, map[envref.Secret]bool, error) {
	data := map[envref.Secret]map[string]any{}
	missing := map[envref.Secret]bool{}
	var leases []Lease
	var errs []error
	for _, s := range secrets {
		sec, err := r.Read(ctx, store.Request{Path: s.Path, Version: s.Version, Method: s.Method, Args: s.Args()})
		if err != nil {
			if ignoreMissing && store.IsNotFound(err) {
				missing[s] = true
				continue
			}
			errs = append(errs, &readError{secret: s, err: err})
			if store.IsLoginRefused(err) || ctx.Err() != nil {
				break // every other read would fail the same way
			}
			continue
		}
		data[s] = sec.Data
		if sec.LeaseDuration > 0 {
			leases = append(leases, Lease{Path: sec.Path, ID: sec.LeaseID, Duration: sec.LeaseDuration, Renewable: sec.Renewable && sec.LeaseID != ""})
		}
	}
	return data, leases, missing, errors.Join(errs...)
}

// annotate prefixes each failed read with the variables that needed it:
// "variable DB_PASSWORD: read secret/data/db: permission denied".
func annotate(err error, vars []variable) error {
	var errs []error
	for _, e := range unjoin(err) {
		var re *readError
		if !errors.As(e, &re) {
			errs = append(errs, e)
			continue
		}
		var names []string
		for _, v := range vars {
			if slices.Contains(v.parsed.Secrets(), re.secret) {
				names = append(names, v.name)
			}
		}
		switch {
		case store.IsLoginRefused(e):
			errs = append(errs, e)
		case len(names) == 0:
			errs = append(errs, fmt.Errorf("env-from-path %s: %w", re.secret, e))
		default:
			errs = append(errs, fmt.Errorf("variable %s: %w", strings.Join(names, ", "), e))
		}
	}
	return errors.Join(errs...)
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// missingSecret returns the path of a secret of v that was not found.
func missingSecret(v envref.Value, missing map[envref.Secret]bool) string {
	for _, s := range v.Secrets() {
		if missing[s] {
			return s.String()
		}
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// validName accepts what a POSIX shell and most runtimes take as a variable
// name; a key such as "db-password" is left out rather than passed on in a
// form the application cannot read.
// unsecure are the variables glibc's loader removes from the environment of
// setuid programs (sysdeps/generic/unsecvars.h, glibc 2.41): each makes the
// loader, libc's locale, resolver or allocator load or read a file the
// variable names. Whoever may write an env-from-path secret (another team,
// a store operator) must not gain that over the application, which runs
// with the pod's identity and its secrets in memory. A container that
// needs one sets it itself, in its spec, where its own authors decide.
var unsecure = []string{
	"GCONV_PATH", "GETCONF_DIR", "GLIBC_TUNABLES", "HOSTALIASES", "LOCALDOMAIN", "LOCPATH",
	"MALLOC_TRACE", "NIS_PATH", "NLSPATH", "RESOLV_HOST_CONF", "RES_OPTIONS", "TMPDIR", "TZDIR",
}

// loaderVariable says why env-from-path may not set key, or "".
func loaderVariable(key string) string {
	switch {
	case key == "PATH":
		return "it chooses which program runs"
	case strings.HasPrefix(key, "LD_"):
		// LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT and the rest, glibc's and
		// musl's alike.
		return "it changes what the dynamic loader loads"
	case strings.HasPrefix(key, "MALLOC_"):
		return "it configures the C allocator"
	case slices.Contains(unsecure, key):
		return "it makes libc load or read a file it names (glibc removes it for setuid programs)"
	}
	return ""
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
