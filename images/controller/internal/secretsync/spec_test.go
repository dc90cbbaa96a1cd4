// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package secretsync

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/deckhouse/secrets-store-integration/images/api/v1alpha1"
	"github.com/deckhouse/secrets-store-integration/images/controller/internal/status"
	"github.com/deckhouse/secrets-store-integration/images/internal/params"
	"github.com/deckhouse/secrets-store-integration/images/internal/render"
	"github.com/deckhouse/secrets-store-integration/images/internal/secretmodel"
	"github.com/deckhouse/secrets-store-integration/images/internal/store"
	"github.com/deckhouse/secrets-store-integration/images/internal/storepolicy"
)

func TestParseSpec(t *testing.T) {
	cases := []struct {
		name         string
		edit         func(*v1alpha1.Spec)
		wantRefresh  time.Duration
		wantCreation string
		wantDeletion string
		wantErr      string
	}{
		{"defaults", func(*v1alpha1.Spec) {}, time.Hour, "Owner", "Delete", ""},
		{"orphan retains", func(s *v1alpha1.Spec) { s.CreationPolicy = "Orphan" }, time.Hour, "Orphan", "Retain", ""},
		{"orphan may delete", func(s *v1alpha1.Spec) { s.CreationPolicy, s.DeletionPolicy = "Orphan", "Delete" }, time.Hour, "Orphan", "Delete", ""},
		{"merge deletes its keys", func(s *v1alpha1.Spec) { s.CreationPolicy = "Merge" }, time.Hour, "Merge", "Delete", ""},
		{"refresh 30s", func(s *v1alpha1.Spec) { s.RefreshInterval = "30s" }, 30 * time.Second, "Owner", "Delete", ""},
		{"once", func(s *v1alpha1.Spec) { s.RefreshInterval = "0" }, 0, "Owner", "Delete", ""},
		{"bad refresh", func(s *v1alpha1.Spec) { s.RefreshInterval = "soon" }, 0, "", "", `spec.refreshInterval "soon"`},
		{"refresh too short", func(s *v1alpha1.Spec) { s.RefreshInterval = "29s" }, 0, "", "", `spec.refreshInterval "29s": at least 30s (or 0 to read once)`},
		{"refresh in ms", func(s *v1alpha1.Spec) { s.RefreshInterval = "500ms" }, 0, "", "", `at least 30s`},
		{"bad creation", func(s *v1alpha1.Spec) { s.CreationPolicy = "Adopt" }, 0, "", "", `spec.creationPolicy "Adopt"`},
		{"bad rollout kind", func(s *v1alpha1.Spec) { s.RolloutRestart = []v1alpha1.RolloutTarget{{Kind: "Job", Name: "x"}} }, 0, "", "", `rolloutRestart[0].kind "Job"`},
		{"key with a slash", func(s *v1alpha1.Spec) { s.Files[0].Name = "db/user" }, 0, "", "", `files[0].name "db/user" is not a Secret key`},
		{"no service account", func(s *v1alpha1.Spec) { s.ServiceAccountName = "" }, 0, "", "", "spec.serviceAccountName is empty"},
		{"path with dot dot", func(s *v1alpha1.Spec) { s.Files[0].Source.Path = "secret/../sys/x" }, 0, "", "", "files[0].source.path"},
		{"the module's store named", func(s *v1alpha1.Spec) { s.Address = "https://vault.example:8200/" }, time.Hour, "Owner", "Delete", ""},
		{"another store", func(s *v1alpha1.Spec) { s.Address = "https://evil.example" }, 0, "", "", `spec.address "https://evil.example" is not allowed`},
		{"skip TLS verification", func(s *v1alpha1.Spec) { s.SkipTLSVerify = true }, 0, "", "", `spec.skipTLSVerify "true" is not allowed`},
		{"another audience", func(s *v1alpha1.Spec) { s.Audience = "kubernetes" }, 0, "", "", `spec.audience "kubernetes" is not allowed`},
		{"service-account-token Secret", func(s *v1alpha1.Spec) { s.Secret.Type = "kubernetes.io/service-account-token" }, 0, "", "", `spec.secret.type "kubernetes.io/service-account-token" is not allowed`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ssi := testImport("")
			c.edit(&ssi.Spec)
			got, err := parseSpec(ssi, storepolicy.Policy{DefaultAddress: "https://vault.example:8200", AllowedAudiences: []string{"vault"}})
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.HasPrefix(err.Error(), "SecretsStoreImport app/db: ") {
					t.Fatalf("error %v, want one naming the import and %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.refresh != c.wantRefresh || got.creation != c.wantCreation || got.deletion != c.wantDeletion {
				t.Errorf("refresh %s creation %s deletion %s", got.refresh, got.creation, got.deletion)
			}
			if got.params.ServiceAccount != "app" || got.params.PodNamespace != "app" || got.params.Audience != params.DefaultAudience {
				t.Errorf("identity %s/%s audience %s", got.params.PodNamespace, got.params.ServiceAccount, got.params.Audience)
			}
		})
	}
}

func TestReadFailure(t *testing.T) {
	_, keyErr := render.Content(context.Background(), secretmodel.Object{SecretKey: "nope"}, "secret/data/db", map[string]any{}, render.NewBudget(1, 1))
	_, b64Err := render.Content(context.Background(), secretmodel.Object{SecretKey: "v", Encoding: secretmodel.EncodingBase64}, "p", map[string]any{"v": "!!"}, render.NewBudget(1, 1))
	cases := []struct {
		err  error
		want string
	}{
		{&tokenError{err: fmt.Errorf("request: %w", apierrors.NewNotFound(schema.GroupResource{Resource: "serviceaccounts"}, "x"))}, ReasonServiceAccountNotFound},
		{&tokenError{err: apierrors.NewForbidden(schema.GroupResource{Resource: "serviceaccounts"}, "x", errors.New("no"))}, ReasonTokenRequestFailed},
		{fmt.Errorf("files[0]: %w", keyErr), ReasonKeyMissing},
		{fmt.Errorf("files[0]: %w", b64Err), ReasonRenderFailed},
		{&store.LoginError{Role: "r", Err: &store.Error{Status: http.StatusBadRequest}}, ReasonLoginRefused},
		{&store.LoginError{Role: "r", Err: &store.Error{Status: http.StatusServiceUnavailable}}, ReasonStoreUnreachable},
		{fmt.Errorf("files[0]: %w", &store.Error{Op: "read", Path: "secret/data/db", Status: http.StatusForbidden}), ReasonPermissionDenied},
		{&store.Error{Status: http.StatusNotFound}, ReasonSecretPathNotFound},
		{errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), ReasonStoreUnreachable},
		{&store.Error{Status: http.StatusServiceUnavailable, Reasons: []string{"Vault is sealed"}}, ReasonStoreUnreachable},
		{&store.Error{Status: http.StatusBadRequest}, ReasonStoreError},
	}
	for _, c := range cases {
		if got := readFailure(c.err).reason; got != c.want {
			t.Errorf("readFailure(%v) = %s, want %s", c.err, got, c.want)
		}
	}
}

func TestLastSync(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	withStatus := func(synced metav1.ConditionStatus, gen int64, last *time.Time) *v1alpha1.SecretsStoreImport {
		ssi := testImport("")
		ssi.Generation = 2
		ssi.Status.Conditions = []metav1.Condition{{Type: status.Synced, Status: synced, ObservedGeneration: gen}}
		if last != nil {
			mt := metav1.NewTime(*last)
			ssi.Status.LastSyncTime = &mt
		}
		return ssi
	}
	earlier, later := t0, t0.Add(time.Minute)
	cases := []struct {
		name   string
		ssi    *v1alpha1.SecretsStoreImport
		record *syncRecord
		want   *time.Time
	}{
		{"never synced", withStatus(status.Unknown, 0, nil), nil, nil},
		{"status of this generation", withStatus(status.True, 2, &earlier), nil, &earlier},
		{"status of an older generation", withStatus(status.True, 1, &earlier), nil, nil},
		{"last sync failed", withStatus(status.False, 2, &earlier), nil, nil},
		{"own record newer than the cached status", withStatus(status.True, 2, &earlier), &syncRecord{2, later}, &later},
		{"own record, status not cached yet", withStatus(status.Unknown, 0, nil), &syncRecord{2, later}, &later},
		{"own record of an older generation", withStatus(status.True, 2, &later), &syncRecord{1, later.Add(time.Hour)}, &later},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := New(Config{})
			if c.record != nil {
				r.synced[types.NamespacedName{Namespace: c.ssi.Namespace, Name: c.ssi.Name}] = *c.record
			}
			got := r.lastSync(c.ssi)
			switch {
			case c.want == nil && got != nil:
				t.Errorf("lastSync = %v, want none", got)
			case c.want != nil && (got == nil || !got.Time.Equal(*c.want)):
				t.Errorf("lastSync = %v, want %v", got, *c.want)
			}
		})
	}
}

func TestShownSync(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	imp := func(synced metav1.ConditionStatus, gen, observed int64, last *time.Time) *v1alpha1.SecretsStoreImport {
		ssi := testImport("")
		ssi.Generation = 2
		ssi.Status.ObservedGeneration = observed
		ssi.Status.Conditions = []metav1.Condition{{Type: status.Synced, Status: synced, ObservedGeneration: gen}}
		if last != nil {
			mt := metav1.NewTime(*last)
			ssi.Status.LastSyncTime = &mt
		}
		return ssi
	}
	shown := t0
	cases := []struct {
		name    string
		ssi     *v1alpha1.SecretsStoreImport
		at      time.Time
		written bool
		want    time.Time
	}{
		{"unchanged refresh, shown time young", imp(status.True, 2, 2, &shown), t0.Add(30 * time.Minute), false, shown},
		{"unchanged refresh, shown time at the interval", imp(status.True, 2, 2, &shown), t0.Add(time.Hour), false, t0.Add(time.Hour)},
		{"data written", imp(status.True, 2, 2, &shown), t0.Add(time.Minute), true, t0.Add(time.Minute)},
		{"never shown", imp(status.Unknown, 0, 0, nil), t0, false, t0},
		{"last read failed", imp(status.False, 2, 2, &shown), t0.Add(time.Minute), false, t0.Add(time.Minute)},
		{"status of an older generation", imp(status.True, 1, 1, &shown), t0.Add(time.Minute), false, t0.Add(time.Minute)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := New(Config{SyncTimeUpdate: time.Hour})
			at := metav1.NewTime(c.at)
			if got := r.shownSync(c.ssi, &at, c.written); got == nil || !got.Time.Equal(c.want) {
				t.Errorf("shownSync = %v, want %v", got, c.want)
			}
		})
	}
	// 0 turns it off: every sync shows its time.
	at := metav1.NewTime(t0.Add(time.Second))
	if got := New(Config{}).shownSync(imp(status.True, 2, 2, &shown), &at, false); !got.Time.Equal(at.Time) {
		t.Errorf("shownSync with SyncTimeUpdate 0 = %v, want %v", got, at)
	}
}
