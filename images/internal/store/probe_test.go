// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package store

import (
	"errors"
	"net/http"
	"testing"
)

func TestRoleVerdict(t *testing.T) {
	denied := &Error{Status: http.StatusForbidden, Reasons: []string{"permission denied"}}
	unknown := &Error{Status: http.StatusBadRequest, Reasons: []string{`invalid role name "x"`}}
	sealed := &Error{Status: http.StatusServiceUnavailable, Reasons: []string{"Vault is sealed"}}
	down := errors.New("dial tcp: connection refused")
	cases := []struct {
		name          string
		first, second error
		want          error // nil: the role exists
		wantSecond    bool
		storeErr      error // the store's own error is returned
	}{
		{"kubernetes auth, unknown role", unknown, nil, ErrRoleNotFound, false, nil},
		{"jwt auth, unknown role", &Error{Status: 400, Reasons: []string{`role "x" could not be found`}}, nil, ErrRoleNotFound, false, nil},
		{"known role: the token is refused, a made-up role is unknown", denied, unknown, nil, true, nil},
		{"no auth method: both refused", denied, denied, ErrAuthMountNotFound, true, nil},
		{"known role, the token judged otherwise", &Error{Status: 400, Reasons: []string{"could not parse token"}}, nil, nil, false, nil},
		{"sealed", sealed, nil, nil, false, sealed},
		{"unreachable", down, nil, nil, false, down},
		{"sealed between the two", denied, sealed, nil, true, sealed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			asked := false
			got := roleVerdict(c.first, func() error { asked = true; return c.second }, "kubernetes", "x")
			if asked != c.wantSecond {
				t.Errorf("second login asked = %v, want %v", asked, c.wantSecond)
			}
			switch {
			case c.storeErr != nil:
				if got != c.storeErr {
					t.Errorf("verdict %v, want the store's error", got)
				}
			case c.want == nil:
				if got != nil {
					t.Errorf("verdict %v, want nil", got)
				}
			case !errors.Is(got, c.want):
				t.Errorf("verdict %v, want %v", got, c.want)
			}
		})
	}
}
