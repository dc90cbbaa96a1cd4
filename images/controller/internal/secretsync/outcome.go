// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package secretsync

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/deckhouse/secrets-store-integration/images/api/v1alpha1"
	"github.com/deckhouse/secrets-store-integration/images/controller/internal/status"
	"github.com/deckhouse/secrets-store-integration/images/internal/params"
	"github.com/deckhouse/secrets-store-integration/images/internal/render"
	"github.com/deckhouse/secrets-store-integration/images/internal/secretmodel"
	"github.com/deckhouse/secrets-store-integration/images/internal/store"
	"github.com/deckhouse/secrets-store-integration/images/internal/storepolicy"
)

// Condition reasons and event reasons.
const (
	ReasonSynced      = "Synced"
	ReasonSecretReady = "SecretReady"
	ReasonInvalidSpec = "InvalidSpec"
	// ReasonNotAllowed: the spec names an address, audience or TLS
	// setting the module settings do not allow.
	ReasonNotAllowed = "NotAllowed"

	// Reading the store failed.
	ReasonStoreUnreachable       = "StoreUnreachable"
	ReasonStoreError             = "StoreError"
	ReasonLoginRefused           = "LoginRefused"
	ReasonLoginRateLimited       = "LoginRateLimited"
	ReasonPermissionDenied       = "PermissionDenied"
	ReasonSecretPathNotFound     = "SecretPathNotFound"
	ReasonKeyMissing             = "KeyMissing"
	ReasonRenderFailed           = "RenderFailed"
	ReasonServiceAccountNotFound = "ServiceAccountNotFound"
	ReasonTokenRequestFailed     = "TokenRequestFailed"

	// The Secret cannot be written.
	ReasonSecretConflict    = "SecretConflict"
	ReasonSecretNotFound    = "SecretNotFound"
	ReasonSecretWriteFailed = "SecretWriteFailed"

	// Ready when the sync failed.
	ReasonSecretStale      = "SecretStale"
	ReasonSecretNotCreated = "SecretNotCreated"

	// Events of writes and cleanup.
	ReasonCreated          = "Created"
	ReasonUpdated          = "Updated"
	ReasonRestored         = "Restored"
	ReasonDeleted          = "Deleted"
	ReasonReleased         = "Released"
	ReasonRolloutRestarted = "RolloutRestarted"
	ReasonRolloutMissing   = "RolloutTargetNotFound"
	ReasonRolloutFailed    = "RolloutRestartFailed"
)

// failure is why a sync did not happen, for conditions and events. Its
// message comes from errors that never quote a value: store errors name the
// path, render errors the key.
type failure struct {
	reason string
	err    error
	// ready is the Ready condition's reason and message; empty: the same
	// as Synced.
	readyReason, readyMessage string
}

func (f failure) synced() metav1.Condition {
	return metav1.Condition{Type: status.Synced, Status: status.False, Reason: f.reason, Message: f.err.Error()}
}

func (f failure) ready() metav1.Condition {
	if f.readyReason == "" {
		return metav1.Condition{Type: status.Ready, Status: status.False, Reason: f.reason, Message: f.err.Error()}
	}
	return metav1.Condition{Type: status.Ready, Status: status.False, Reason: f.readyReason, Message: f.readyMessage}
}

// specFailure classifies an error of parseSpec.
func specFailure(err error) failure {
	if storepolicy.IsRefusal(err) {
		return failure{reason: ReasonNotAllowed, err: err}
	}
	return failure{reason: ReasonInvalidSpec, err: err}
}

// readFailure classifies an error of reading the store (or of getting the
// token to log in with).
func readFailure(err error) failure {
	var tokenErr *tokenError
	switch {
	case errors.As(err, &tokenErr) && apierrors.IsNotFound(err):
		return failure{reason: ReasonServiceAccountNotFound, err: err}
	case errors.As(err, &tokenErr):
		return failure{reason: ReasonTokenRequestFailed, err: err}
	case render.IsKeyMissing(err):
		return failure{reason: ReasonKeyMissing, err: err}
	case errors.As(err, new(*render.Error)):
		return failure{reason: ReasonRenderFailed, err: err}
	case store.IsLoginRefused(err):
		return failure{reason: ReasonLoginRefused, err: err}
	case errors.As(err, new(*store.LoginRateLimitError)):
		return failure{reason: ReasonLoginRateLimited, err: err}
	case store.IsDenied(err):
		return failure{reason: ReasonPermissionDenied, err: err}
	case store.IsNotFound(err):
		return failure{reason: ReasonSecretPathNotFound, err: err}
	case errors.As(err, new(*store.AnswerTooLargeError)):
		// The store answered, with more than anyone should read.
		return failure{reason: ReasonStoreError, err: err}
	case store.StatusCode(err) == 0 || store.StatusCode(err) >= http.StatusInternalServerError:
		// No answer, TLS, a timeout, or a sealed or failing store.
		return failure{reason: ReasonStoreUnreachable, err: err}
	default:
		return failure{reason: ReasonStoreError, err: err}
	}
}

// ForeignStoreError words err of reading a store at an address the import
// names itself (not the module's) for conditions and events, which the
// import's readers and writers see: a class (unreachable, TLS, timeout) or
// the HTTP status, never the reasons that store wrote in its answer's body;
// whoever runs that address is not the module's to trust with status text.
// The module's own store keeps its reasons ("permission denied", "no
// handler for route"), which tell the user what to fix. Unwrap keeps err
// for readFailure's classification.
func ForeignStoreError(err error, d params.Defaults, p secretmodel.Parameters) error {
	if err == nil || p.Address == "" || p.Address == d.Address {
		return err
	}
	msg := err.Error()
	var se *store.Error
	if errors.As(err, &se) {
		bare := *se
		bare.Reasons = nil
		msg = strings.Replace(msg, se.Error(), bare.Error(), 1)
		if msg == err.Error() && len(se.Reasons) > 0 {
			// Not found verbatim (wrapped text changed): say only the status.
			msg = fmt.Sprintf("%s: the store at %s answered HTTP %d", p.Source, p.Address, se.Status)
		}
	} else if code := store.StatusCode(err); code != 0 {
		msg = fmt.Sprintf("%s: the store at %s answered HTTP %d", p.Source, p.Address, code)
	}
	var (
		netErr net.Error
		unk    x509.UnknownAuthorityError
		host   x509.HostnameError
		verify *tls.CertificateVerificationError
	)
	switch {
	case store.StatusCode(err) != 0:
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout():
		msg = "timeout: " + msg
	case errors.As(err, &unk) || errors.As(err, &host) || errors.As(err, &verify):
		msg = "TLS: " + msg
	case errors.As(err, &netErr):
		msg = "unreachable: " + msg
	}
	return &foreignError{msg: msg, err: err}
}

type foreignError struct {
	msg string
	err error
}

func (e *foreignError) Error() string { return e.msg }
func (e *foreignError) Unwrap() error { return e.err }

// tokenError is a failed TokenRequest.
type tokenError struct{ err error }

func (e *tokenError) Error() string { return e.err.Error() }
func (e *tokenError) Unwrap() error { return e.err }

// applyStatus sets the import's Synced and Ready conditions.
func (r *Reconciler) applyStatus(ctx context.Context, ssi *v1alpha1.SecretsStoreImport, synced, ready metav1.Condition, lastSync *metav1.Time) error {
	return status.Update(ctx, r.cfg.Client, ssi, r.now(), lastSync, synced, ready)
}

// staleness words Ready after a failed read: the Secret keeps what it has.
func staleness(f failure, ssi *v1alpha1.SecretsStoreImport, secretExists bool) failure {
	name := ssi.Namespace + "/" + ssi.Spec.Secret.Name
	switch {
	case secretExists && ssi.Status.LastSyncTime != nil:
		f.readyReason = ReasonSecretStale
		f.readyMessage = fmt.Sprintf("Secret %s keeps the data of the last sync at %s; the refresh failed: %s",
			name, ssi.Status.LastSyncTime.UTC().Format("2006-01-02T15:04:05Z"), f.reason)
	case secretExists:
		f.readyReason = ReasonSecretStale
		f.readyMessage = fmt.Sprintf("Secret %s is left as it is; the sync failed: %s", name, f.reason)
	default:
		f.readyReason = ReasonSecretNotCreated
		f.readyMessage = fmt.Sprintf("Secret %s is not created; the sync failed: %s", name, f.reason)
	}
	return f
}
