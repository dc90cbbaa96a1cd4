// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package secretfiles is the one way a request's secrets become files: open
// a session with the store as the request's identity, log in, read each
// read group once, and render every object of the group. The Vault provider
// writes the files into a volume and the controller into a Secret; both call
// Read, so both log in, read and render alike. What differs between them
// plugs in: how a secret is read (the provider shares GETs between pods)
// and which groups need no read at all (the provider keeps fresh leases).
package secretfiles

import (
	"context"

	"github.com/deckhouse/secrets-store-integration/images/internal/params"
	"github.com/deckhouse/secrets-store-integration/images/internal/render"
	"github.com/deckhouse/secrets-store-integration/images/internal/secretmodel"
	"github.com/deckhouse/secrets-store-integration/images/internal/store"
)

// ReadFunc reads the secret a request names.
type ReadFunc func(ctx context.Context, sess *store.Session, r store.Request) (*store.Secret, error)

// Request is one read-and-render.
type Request struct {
	Params secretmodel.Parameters
	// Defaults fill the store settings Params leave out.
	Defaults params.Defaults
	// JWT is the service-account token to log in with; where it comes from
	// is the caller's business (kubelet's volume context, the TokenRequest
	// API).
	JWT string
	// FileBytes bounds each file and TotalBytes all of them together
	// (render's limits of a volume or a Secret).
	FileBytes, TotalBytes int64
	// Keep reports that a group needs no read: the caller still holds its
	// files. Nil reads every group.
	Keep func(group []secretmodel.Object) bool
	// Read reads a group's secret; nil is the session's own read.
	Read ReadFunc
}

// Group is what one read gave: the objects it serves and their files.
type Group struct {
	Objects []secretmodel.Object
	// Secret is the store's answer; nil when the group was kept.
	Secret *store.Secret
	// Contents are the objects' files, in the order of Objects; nil when
	// the group was kept.
	Contents [][]byte
}

// Kept reports that the group was not read (Request.Keep).
func (g Group) Kept() bool { return g.Secret == nil }

// Stage is the step of Read that failed.
type Stage string

// Stages of Read, in order.
const (
	StageConnect Stage = "connect"
	StageLogIn   Stage = "login"
	StageRead    Stage = "read"
	StageRender  Stage = "render"
)

// Error is a failure of Read. Its message starts with the request's source
// and names the object whose read or render failed; it wraps the store's or
// render's error, so callers classify it with errors.As.
type Error struct {
	Stage Stage
	err   error
}

func (e *Error) Error() string { return e.err.Error() }

func (e *Error) Unwrap() error { return e.err }

// Read reads and renders the request's objects, one store read per read
// group. Any failure fails the whole request: a caller keeps what it already
// delivered rather than deliver part of the files.
func Read(ctx context.Context, st *store.Store, req Request) ([]Group, error) {
	p := req.Params
	cfg, login := req.Defaults.Connection(p)
	login.JWT = req.JWT
	sess, err := st.Session(cfg, login)
	if err != nil {
		return nil, &Error{Stage: StageConnect, err: p.Errorf("%w", err)}
	}
	read := req.Read
	if read == nil {
		read = func(ctx context.Context, sess *store.Session, r store.Request) (*store.Secret, error) {
			return sess.Read(ctx, r)
		}
	}
	budget := render.NewBudget(req.FileBytes, req.TotalBytes)
	groups := secretmodel.GroupByRead(p.Objects)
	out := make([]Group, len(groups))
	loggedIn := false
	for i, objects := range groups {
		out[i].Objects = objects
		if req.Keep != nil && req.Keep(objects) {
			continue
		}
		// Logged in on its own, so that a refused login is said as such
		// rather than as the first object's read; not at all when every
		// group is kept, so that nothing is issued.
		if !loggedIn {
			if err := sess.LogIn(ctx); err != nil {
				return nil, &Error{Stage: StageLogIn, err: p.Errorf("%w", err)}
			}
			loggedIn = true
		}
		first := objects[0]
		secret, err := read(ctx, sess, store.Request{Path: first.SecretPath, Method: first.Method, Args: first.SecretArgs, Version: first.Version})
		if err != nil {
			return nil, &Error{Stage: StageRead, err: p.Errorf("%s: %w", first.Ref, err)}
		}
		out[i].Secret = secret
		out[i].Contents = make([][]byte, len(objects))
		for j, o := range objects {
			content, err := contentOf(ctx, p, o, secret, budget)
			if err != nil {
				return nil, &Error{Stage: StageRender, err: p.Errorf("%s: %w", o.Ref, err)}
			}
			out[i].Contents[j] = content
		}
	}
	return out, nil
}

// contentOf is the file of o: vault-csi-provider's whole response for an
// object without secretKey or template in a request of its form, else what
// render gives a SecretsStoreImport's file.
func contentOf(ctx context.Context, p secretmodel.Parameters, o secretmodel.Object, secret *store.Secret, budget *render.Budget) ([]byte, error) {
	if p.WholeResponse && o.SecretKey == "" && o.Template == "" {
		return render.WholeResponse(o, secret.Path, secret.Response, budget)
	}
	return render.Content(ctx, o, secret.Path, secret.Data, budget)
}
