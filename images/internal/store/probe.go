// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// probeJWT is what CheckRole sends as the token: three dot-separated parts
// that no auth method can parse, so the store rejects it locally, after
// looking the role up and before any TokenReview or token is made.
const probeJWT = "probe.probe.probe"

// Errors of CheckRole that are about the configuration, not the store's
// health.
var (
	ErrRoleNotFound      = errors.New("role not found")
	ErrAuthMountNotFound = errors.New("auth method not found")
)

// probeRole is a role name no one gives a role: the store's answer to it
// tells whether an auth method is mounted at all.
const probeRole = "secrets-store-integration-probe-no-such-role"

// CheckRole asks the store, without any credentials, whether role exists at
// the auth mount: it sends a login with a token that cannot be valid. Vault,
// OpenBao and Stronghold look the role up before they check the token, so an
// unknown role is named as such ("invalid role name" from Kubernetes auth,
// "role ... could not be found" from JWT auth). A known role and a path with
// no auth method both get "permission denied"; a second login, as a role that
// cannot exist, tells them apart. No store token is issued, no TokenReview
// is made and nothing is read. The store's audit log records failed logins.
//
// It returns nil if the role exists (or the method answered without saying
// it does not), an error wrapping ErrRoleNotFound or ErrAuthMountNotFound,
// or the store's error (unreachable, TLS, sealed).
func (s *Store) CheckRole(ctx context.Context, cfg Config, authMount, role string) error {
	if cfg.Address == "" {
		return errors.New("no store address")
	}
	c, err := s.client(cfg)
	if err != nil {
		return err
	}
	mount := strings.Trim(authMount, "/")
	path := "auth/" + mount + "/login"
	login := func(role string) error {
		ctx, cancel := context.WithTimeout(ctx, s.opts.RequestTimeout)
		defer cancel()
		began := time.Now()
		_, err := c.call(ctx, http.MethodPut, path, "", cfg.Namespace, nil, map[string]any{"role": role, "jwt": probeJWT})
		err = storeError("write", path, err)
		s.opts.Observer.StoreRequest("probe", result(err), time.Since(began))
		return err
	}
	return roleVerdict(login(role), func() error { return login(probeRole) }, mount, role)
}

// roleVerdict reads the answer to a login as role with an invalid token,
// and if needed the answer to one as a role that cannot exist.
func roleVerdict(answer error, asUnknownRole func() error, mount, role string) error {
	switch {
	case unknownRole(answer):
		return fmt.Errorf("role %q at auth/%s: %w", role, mount, ErrRoleNotFound)
	case !answered(answer):
		return answer // unreachable, TLS, sealed: the store's health
	case StatusCode(answer) != http.StatusForbidden:
		return nil // the method looked at the token: it knows the role
	}
	control := asUnknownRole()
	switch {
	case unknownRole(control):
		return nil
	case !answered(control):
		return control
	case StatusCode(control) == http.StatusForbidden:
		return fmt.Errorf("auth/%s: %w", mount, ErrAuthMountNotFound)
	}
	return nil
}

// unknownRole: the store says it has no such role.
func unknownRole(err error) bool {
	var se *Error
	if !errors.As(err, &se) || se.Status != http.StatusBadRequest {
		return false
	}
	text := strings.ToLower(strings.Join(se.Reasons, "; "))
	return strings.Contains(text, "invalid role name") || (strings.Contains(text, "role") && strings.Contains(text, "could not be found"))
}

// answered: the store gave a 4xx answer (not a network error or a 5xx).
func answered(err error) bool {
	code := StatusCode(err)
	return code >= 400 && code < 500
}
