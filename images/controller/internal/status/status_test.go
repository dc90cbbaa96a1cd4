// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package status

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestSet(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Hour)
	old := []metav1.Condition{
		{Type: Ready, Status: True, Reason: "SecretReady", LastTransitionTime: metav1.NewTime(t0)},
		{Type: Synced, Status: True, Reason: "Synced", LastTransitionTime: metav1.NewTime(t0)},
	}
	cases := []struct {
		name     string
		set      metav1.Condition
		wantTime time.Time
		wantLen  int
	}{
		{"same status keeps the transition time", metav1.Condition{Type: Ready, Status: True, Reason: "Other"}, t0, 2},
		{"new status takes now", metav1.Condition{Type: Synced, Status: False, Reason: "StoreUnreachable"}, t1, 2},
		{"new type is added", metav1.Condition{Type: "Other", Status: True}, t1, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Set(old, c.set, t1)
			if len(got) != c.wantLen {
				t.Fatalf("%d conditions, want %d", len(got), c.wantLen)
			}
			cond := meta.FindStatusCondition(got, c.set.Type)
			if cond == nil || cond.Reason != c.set.Reason || !cond.LastTransitionTime.Time.Equal(c.wantTime) {
				t.Errorf("condition %+v, want reason %q at %s", cond, c.set.Reason, c.wantTime)
			}
		})
	}
	if old[1].Status != True {
		t.Error("Set changed its input")
	}
	long := Set(nil, metav1.Condition{Type: Ready, Message: strings.Repeat("x", 5000)}, t1)
	if len(long[0].Message) != maxMessage {
		t.Errorf("message of %d characters, want it cut to %d", len(long[0].Message), maxMessage)
	}
}
