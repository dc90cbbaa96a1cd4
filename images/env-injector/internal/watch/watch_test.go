// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package watch

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deckhouse/secrets-store-integration/images/internal/environ"
	"github.com/deckhouse/secrets-store-integration/images/internal/store"
)

var quiet = slog.New(slog.DiscardHandler)

func TestJitter(t *testing.T) {
	for _, tt := range []struct {
		r    float64
		want time.Duration
	}{{0, 70 * time.Second}, {0.5, 100 * time.Second}, {0.999999, 130 * time.Second}} {
		got := Jitter(100*time.Second, tt.r)
		if d := got - tt.want; d < -time.Millisecond || d > time.Millisecond {
			t.Errorf("Jitter(100s, %v) = %s, want %s", tt.r, got, tt.want)
		}
	}
}

func TestDataReturnsOnChangeAndSurvivesFailedPolls(t *testing.T) {
	var calls int
	results := []struct {
		d   [32]byte
		err error
	}{{[32]byte{1}, nil}, {[32]byte{}, errors.New("store sealed")}, {[32]byte{1}, nil}, {[32]byte{2}, nil}}
	rebuild := func(context.Context) ([32]byte, error) {
		r := results[calls]
		calls++
		return r.d, r.err
	}
	err := Data(context.Background(), time.Millisecond, [32]byte{1}, rebuild, quiet)
	var s *Stale
	if !errors.As(err, &s) || !strings.Contains(s.Reason, "secrets changed") {
		t.Fatalf("Data = %v, want Stale", err)
	}
	if calls != 4 {
		t.Fatalf("returned after %d polls, want 4 (the change)", calls)
	}
}

func TestDataStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Data(ctx, time.Hour, [32]byte{}, nil, quiet); !errors.Is(err, context.Canceled) {
		t.Fatalf("Data = %v, want context.Canceled", err)
	}
}

// renewer grants TTLs from a script and records the calls.
type renewer struct {
	mu        sync.Mutex
	token     []time.Duration // TTLs granted to successive token renewals
	lease     []time.Duration
	leaseErr  error
	tokenN    int
	leaseN    int
	increment []time.Duration
}

func (r *renewer) RenewToken(context.Context, time.Duration) (time.Duration, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ttl := r.token[min(r.tokenN, len(r.token)-1)]
	r.tokenN++
	return ttl, nil
}

func (r *renewer) RenewLease(_ context.Context, _ string, inc time.Duration) (time.Duration, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.increment = append(r.increment, inc)
	if r.leaseErr != nil {
		return 0, r.leaseErr
	}
	ttl := r.lease[min(r.leaseN, len(r.lease)-1)]
	r.leaseN++
	return ttl, nil
}

func TestLeases(t *testing.T) {
	renewable := []environ.Lease{{Path: "db/creds/ro", ID: "db/creds/ro/1", Duration: 90 * time.Millisecond, Renewable: true}}
	tests := []struct {
		name      string
		leases    []environ.Lease
		r         *renewer
		want      string
		minRenews int
	}{
		{"no leases: nothing to watch", nil, &renewer{token: []time.Duration{time.Hour}}, "", 0},
		{"a ttl-only lease runs out", []environ.Lease{{Path: "kv1/app", Duration: 50 * time.Millisecond}},
			&renewer{token: []time.Duration{time.Hour}}, "lease of kv1/app ran out", 0},
		{"renewed until its max TTL cuts it short", renewable,
			&renewer{token: []time.Duration{time.Hour}, lease: []time.Duration{90 * time.Millisecond, 90 * time.Millisecond, 30 * time.Millisecond}},
			"lease of db/creds/ro ran out", 3},
		{"a refused renewal ends it at once", renewable,
			&renewer{token: []time.Duration{time.Hour}, leaseErr: &store.Error{Op: "renew", Path: "sys/leases/renew", Status: http.StatusBadRequest, Reasons: []string{"lease not found"}}},
			"lease of db/creds/ro could not be renewed: renew sys/leases/renew: HTTP 400 (lease not found)", 1},
		{"the token's max TTL ends it", renewable,
			&renewer{token: []time.Duration{60 * time.Millisecond, 20 * time.Millisecond}, lease: []time.Duration{90 * time.Millisecond}},
			"store token ran out", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := Leases(ctx, tt.r, tt.leases, time.Now, quiet)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Leases = %v, want nil", err)
				}
				return
			}
			var s *Stale
			if !errors.As(err, &s) || !strings.Contains(s.Reason, tt.want) {
				t.Fatalf("Leases = %v, want Stale with %q", err, tt.want)
			}
			if len(tt.r.increment) < tt.minRenews {
				t.Fatalf("%d lease renewals, want at least %d", len(tt.r.increment), tt.minRenews)
			}
			for _, inc := range tt.r.increment {
				if inc != 90*time.Millisecond {
					t.Fatalf("renewal asked for %s, want the lease's full duration", inc)
				}
			}
		})
	}
}

func TestLeasesRetryWhileTheLeaseLasts(t *testing.T) {
	r := &renewer{token: []time.Duration{time.Hour}, leaseErr: errors.New("dial tcp: connection refused")}
	began := time.Now()
	err := Leases(context.Background(), r, []environ.Lease{{Path: "db/creds/ro", ID: "x", Duration: 300 * time.Millisecond, Renewable: true}}, time.Now, quiet)
	var s *Stale
	if !errors.As(err, &s) || !strings.Contains(s.Reason, "connection refused") {
		t.Fatalf("Leases = %v", err)
	}
	if len(r.increment) < 2 {
		t.Fatalf("%d renewals: a failure that may pass must be retried", len(r.increment))
	}
	if time.Since(began) < 300*time.Millisecond {
		t.Fatal("gave up before the lease ran out")
	}
}
