// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package csicheck

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/deckhouse/secrets-store-integration/images/controller/internal/metrics"
	"github.com/deckhouse/secrets-store-integration/images/controller/internal/status"
	"github.com/deckhouse/secrets-store-integration/images/internal/secretmodel"
	"github.com/deckhouse/secrets-store-integration/images/internal/store"
)

// fakeChecker answers by role name and counts the questions.
type fakeChecker struct {
	answers map[string]error
	asked   int
}

func (f *fakeChecker) CheckRole(_ context.Context, _ store.Config, _, role string) error {
	f.asked++
	return f.answers[role]
}

func TestCheckRole(t *testing.T) {
	down := errors.New("dial tcp: connection refused")
	checker := &fakeChecker{answers: map[string]error{
		"app":   nil,
		"gone":  fmt.Errorf("role %q at auth/kubernetes: %w", "gone", store.ErrRoleNotFound),
		"nomnt": fmt.Errorf("auth/x: %w", store.ErrAuthMountNotFound),
		"down":  down,
	}}
	now := time.Unix(1_000_000, 0)
	r := New(Config{Checker: checker, Interval: time.Minute, Metrics: metrics.New(), Now: func() time.Time { return now }})
	cfg := store.Config{Address: "https://vault:8200"}
	cases := []struct {
		role       string
		advance    time.Duration
		wantStatus metav1.ConditionStatus
		wantReason string
		wantRetry  bool
		wantAsked  int
	}{
		{"app", 0, status.True, ReasonRoleFound, false, 1},
		{"app", 30 * time.Second, status.True, ReasonRoleFound, false, 1}, // within the interval: the cached answer
		{"app", 31 * time.Second, status.True, ReasonRoleFound, false, 2}, // past it: asked again
		{"gone", 0, status.False, ReasonRoleNotFound, false, 3},
		{"gone", 0, status.False, ReasonRoleNotFound, false, 3},
		{"nomnt", 0, status.False, ReasonAuthMethodNotFound, false, 4},
		{"down", 0, status.False, ReasonStoreUnreachable, true, 5},
		{"down", 0, status.False, ReasonStoreUnreachable, true, 6}, // failures are not kept
	}
	for i, c := range cases {
		now = now.Add(c.advance)
		cond, err := r.checkRole(context.Background(), cfg, "kubernetes", secretmodel.Parameters{Role: c.role})
		if cond.Status != c.wantStatus || cond.Reason != c.wantReason || (err != nil) != c.wantRetry || checker.asked != c.wantAsked {
			t.Errorf("step %d (%s): %s/%s, error %v, asked %d; want %s/%s, retry %v, asked %d",
				i, c.role, cond.Status, cond.Reason, err, checker.asked, c.wantStatus, c.wantReason, c.wantRetry, c.wantAsked)
		}
		if !strings.Contains(cond.Message, "auth/kubernetes of https://vault:8200") {
			t.Errorf("step %d: message %q does not say where", i, cond.Message)
		}
	}
}
