// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package watch decides when the application's secrets have gone stale in
// the watch modes: a lease that cannot be renewed (watch-for-lease) or a
// value that changed in the store (watch-for-data).
package watch

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/deckhouse/secrets-store-integration/images/internal/environ"
	"github.com/deckhouse/secrets-store-integration/images/internal/store"
)

// Stale says why the application must restart; the message names paths,
// never values.
type Stale struct{ Reason string }

func (s *Stale) Error() string { return s.Reason }

// Rebuild reads the secrets again and returns the digest of the values.
type Rebuild func(ctx context.Context) ([32]byte, error)

// Data polls every interval, ±30 % so that the replicas of a Deployment do
// not read in step, and returns a *Stale once the digest differs from
// initial. A failed poll (the store down) keeps the application running:
// its values are still the last ones read. It returns ctx's error when ctx
// ends.
func Data(ctx context.Context, interval time.Duration, initial [32]byte, rebuild Rebuild, log *slog.Logger) error {
	for {
		t := time.NewTimer(Jitter(interval, rand.Float64()))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		d, err := rebuild(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			log.Warn("poll the store; the application keeps its values", "error", err.Error())
			continue
		}
		if d != initial {
			return &Stale{Reason: "secrets changed in the store; restarting the application to take the new values"}
		}
		log.Debug("secrets unchanged")
	}
}

// Jitter spreads interval over [0.7, 1.3) of itself; r is in [0, 1).
func Jitter(interval time.Duration, r float64) time.Duration {
	return time.Duration(float64(interval) * (0.7 + 0.6*r))
}

// retryEvery bounds the wait between renewals that failed for a reason that
// may pass (the store unreachable, sealed).
const retryEvery = 5 * time.Second

// Renewer renews the injector's token and the leases it read.
type Renewer interface {
	// RenewToken with increment 0 asks for the token's usual TTL.
	RenewToken(ctx context.Context, increment time.Duration) (time.Duration, error)
	RenewLease(ctx context.Context, leaseID string, increment time.Duration) (time.Duration, error)
}

// Leases keeps the token and every renewable lease alive, renewing at two
// thirds of each TTL, and returns a *Stale when one of them cannot go on: a
// renewal refused, or a TTL cut short by its maximum, at the moment it
// runs out. Leases that are only a duration (KV v1 ttl) run out at the end
// of it. The store revokes a token's leases with the token, so the token
// is watched like a lease.
//
// Own code over vault/api's LifetimeWatcher: that runs one goroutine per
// secret with its own randomized timing and wall clock, and renews with the
// raw client; here one loop keeps the token and every lease, renews through
// the store session (its token cache and error classes), and takes the
// clock, so the tests run without sleeping. The binary's size gains nothing
// either way: vault/api is linked already.
func Leases(ctx context.Context, r Renewer, leases []environ.Lease, now func() time.Time, log *slog.Logger) error {
	type tracked struct {
		name, id  string
		token     bool
		renewable bool
		full      time.Duration // the TTL a renewal normally grants
		renewAt   time.Time
		expiresAt time.Time
		capped    bool
	}
	start := now()
	var all []*tracked
	shortest := time.Duration(0)
	for _, l := range leases {
		if shortest == 0 || l.Duration < shortest {
			shortest = l.Duration
		}
		all = append(all, &tracked{name: "lease of " + l.Path, id: l.ID, renewable: l.Renewable, full: l.Duration,
			renewAt: start.Add(l.Duration * 2 / 3), expiresAt: start.Add(l.Duration)})
	}
	if len(all) == 0 {
		return nil
	}
	// The first renewal tells the token's TTL; until then its expiry is
	// taken to be no later than the shortest lease's.
	all = append(all, &tracked{name: "store token", token: true, renewable: true, renewAt: start, expiresAt: start.Add(shortest)})

	renew := func(t *tracked) error {
		var ttl time.Duration
		var err error
		if t.token {
			ttl, err = r.RenewToken(ctx, 0)
		} else {
			ttl, err = r.RenewLease(ctx, t.id, t.full)
		}
		if err != nil {
			return err
		}
		at := now()
		if t.full == 0 {
			t.full = ttl
		}
		if ttl <= 0 || ttl < t.full {
			// The maximum TTL is near: nothing extends it further.
			t.capped = true
			log.Info("lease reaches its maximum TTL; the application restarts when it runs out", "lease", t.name, "ttl", ttl.String())
		}
		t.expiresAt = at.Add(ttl)
		t.renewAt = at.Add(ttl * 2 / 3)
		log.Debug("renewed", "lease", t.name, "ttl", ttl.String())
		return nil
	}
	for {
		var next time.Time
		var due *tracked
		for _, t := range all {
			at := t.renewAt
			if !t.renewable || t.capped {
				at = t.expiresAt
			}
			if due == nil || at.Before(next) {
				due, next = t, at
			}
		}
		timer := time.NewTimer(max(next.Sub(now()), 0))
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
		if !due.renewable || due.capped {
			return &Stale{Reason: fmt.Sprintf("%s ran out and cannot be renewed; restarting the application to read it again", due.name)}
		}
		if err := renew(due); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			left := due.expiresAt.Sub(now())
			if left <= 0 || store.IsDenied(err) || store.StatusCode(err) == http.StatusBadRequest {
				return &Stale{Reason: fmt.Sprintf("%s could not be renewed: %v; restarting the application to read it again", due.name, err)}
			}
			// The store may be down for a moment: try again while the
			// lease lasts.
			log.Warn("renew; retrying while the lease lasts", "lease", due.name, "left", left.Round(time.Second).String(), "error", err.Error())
			due.renewAt = now().Add(min(retryEvery, left/2))
		}
	}
}
