// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package driver

import (
	"io"
	"log/slog"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/kubernetes-csi/csi-test/v5/pkg/sanity"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/deckhouse/secrets-store-integration/images/csi-driver/internal/metrics"
	"github.com/deckhouse/secrets-store-integration/images/internal/unixsocket"
)

// sanitySkips are the csi-sanity cases that do not apply to a node-only
// plugin for ephemeral inline volumes, each with the reason.
var sanitySkips = map[string]string{
	// csi-sanity registers these for every driver and fails them with
	// Unimplemented; ephemeral inline volumes have no Controller service
	// (no CreateVolume, ControllerPublish, snapshots, volume health).
	"[Controller Server]": "no Controller service",
	// It creates the volume with the Controller service's CreateVolume
	// (MustCreateVolume, no skip of its own); inline volumes have no
	// controller. Unpublish removing the target is covered by
	// TestUnpublishIsIdempotent and the integration suite.
	"NodeUnpublishVolume should remove target path": "needs CreateVolume of a Controller service",
}

// The remaining cases that csi-sanity skips by itself (reported as
// skipped, with its own reason):
//   - GroupController Service (volume group snapshots): not offered.
//   - "Node Service should work" and "should be idempotent": no Controller
//     service to create a volume (GetPluginCapabilities lists none).
//   - NodeStageVolume/NodeUnstageVolume: no STAGE_UNSTAGE_VOLUME; ephemeral
//     volumes are not staged.
//   - NodeGetVolumeStats, NodeExpandVolume, NodeGetVolumeHealth,
//     NodeGetStorageHealth: capabilities not offered; a tmpfs of secrets
//     has no stats, size or health to report.
//   - "with single node multi writer capability": not offered.

func TestSanity(t *testing.T) {
	dir := t.TempDir()
	f := newFixture(t)
	node := NewNode(Config{
		NodeID: "sanity-node", ProviderName: "provider fake", RotationInterval: time.Minute,
		Imports: fakeImports{}, Provider: f.provider, Mounter: f.mounter,
		Metrics: metrics.New(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	endpoint := filepath.Join(dir, "csi.sock")
	ln, err := unixsocket.Listen("unix://"+endpoint, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(&Identity{Version: "test"}, node)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)

	config := sanity.NewTestConfig()
	config.Address = endpoint
	config.TargetPath = filepath.Join(dir, "target")
	config.StagingPath = filepath.Join(dir, "staging")
	config.IdempotentCount = 0
	sanity.GinkgoTest(&config)

	RegisterFailHandler(Fail)
	suite, reporter := GinkgoConfiguration()
	for name := range sanitySkips {
		suite.SkipStrings = append(suite.SkipStrings, regexp.QuoteMeta(name))
	}
	RunSpecs(t, "csi-sanity against secrets-store.csi.deckhouse.io", suite, reporter)
}
