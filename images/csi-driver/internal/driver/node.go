// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package driver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"strconv"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	provider "sigs.k8s.io/secrets-store-csi-driver/provider/v1alpha1"

	"github.com/deckhouse/secrets-store-integration/images/api/v1alpha1"
	"github.com/deckhouse/secrets-store-integration/images/csi-driver/internal/atomicwriter"
	"github.com/deckhouse/secrets-store-integration/images/csi-driver/internal/imports"
	"github.com/deckhouse/secrets-store-integration/images/csi-driver/internal/metrics"
	"github.com/deckhouse/secrets-store-integration/images/csi-driver/internal/state"
	"github.com/deckhouse/secrets-store-integration/images/internal/attributes"
	"github.com/deckhouse/secrets-store-integration/images/internal/params"
)

// defaultFileMode is a file's mode when neither the object nor the volume
// asks for another; the same as upstream's default.
const defaultFileMode os.FileMode = 0o644

// ImportGetter reads SecretsStoreImports.
type ImportGetter interface {
	Get(ctx context.Context, namespace, name string) (*v1alpha1.SecretsStoreImport, error)
}

// Provider is a secrets-store provider (provider protocol Mount).
type Provider interface {
	Mount(ctx context.Context, req *provider.MountRequest) (*provider.MountResponse, error)
}

// Mounter mounts the volume's tmpfs.
type Mounter interface {
	Mount(dir string, gid int) error
	Unmount(dir string) error
	IsMounted(dir string) (bool, error)
}

// Config is what the Node service works with.
type Config struct {
	NodeID string
	// ProviderName names the provider in messages.
	ProviderName string
	// RotationInterval is the least time between two fetches of a volume.
	RotationInterval time.Duration
	// Timeout bounds each API read and each provider call.
	Timeout time.Duration

	Imports  ImportGetter
	Provider Provider
	Mounter  Mounter
	// Limits are the tmpfs limits the Mounter applies, checked before a
	// write so that a volume too big fails with a clear message.
	Limits  VolumeLimits
	Metrics *metrics.Metrics
	Log     *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Node is the CSI Node service: it publishes ephemeral inline volumes
// holding the files of a SecretsStoreImport.
type Node struct {
	csi.UnimplementedNodeServer
	cfg  Config
	busy busyTargets
}

// NewNode returns the Node service.
func NewNode(cfg Config) *Node {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = time.Minute
	}
	if cfg.ProviderName == "" {
		cfg.ProviderName = "provider"
	}
	return &Node{cfg: cfg}
}

// NodeGetInfo names the node.
func (n *Node) NodeGetInfo(context.Context, *csi.NodeGetInfoRequest) (*csi.NodeGetInfoResponse, error) {
	return &csi.NodeGetInfoResponse{NodeId: n.cfg.NodeID}, nil
}

// NodeGetCapabilities offers VOLUME_MOUNT_GROUP: kubelet then hands the
// pod's fsGroup to the driver, which group-owns the files itself.
func (n *Node) NodeGetCapabilities(context.Context, *csi.NodeGetCapabilitiesRequest) (*csi.NodeGetCapabilitiesResponse, error) {
	return &csi.NodeGetCapabilitiesResponse{Capabilities: []*csi.NodeServiceCapability{{
		Type: &csi.NodeServiceCapability_Rpc{Rpc: &csi.NodeServiceCapability_RPC{Type: csi.NodeServiceCapability_RPC_VOLUME_MOUNT_GROUP}},
	}}}, nil
}

// publishRequest is a validated NodePublishVolume request.
type publishRequest struct {
	volumeID, target  string
	namespace, name   string // of the SecretsStoreImport
	source            string // "SecretsStoreImport ns/name"
	gid               int
	volumeContext     map[string]string
	nodePublishSecret map[string]string
}

// NodePublishVolume mounts a tmpfs at the target and writes the files; on
// a mounted target it rotates them when the last fetch is old enough.
func (n *Node) NodePublishVolume(ctx context.Context, req *csi.NodePublishVolumeRequest) (*csi.NodePublishVolumeResponse, error) {
	start := n.cfg.Now()
	n.cfg.Metrics.PublishTotal.Inc()
	err := n.publish(ctx, req)
	n.cfg.Metrics.PublishDuration.Observe(n.cfg.Now().Sub(start).Seconds())
	if err != nil {
		n.cfg.Metrics.PublishErrors.WithLabelValues(reasonOf(err)).Inc()
		n.cfg.Log.Warn("publish failed", "volume_id", req.GetVolumeId(), "target", req.GetTargetPath(),
			"code", status.Code(err).String(), "error", err.Error())
		return nil, err
	}
	return &csi.NodePublishVolumeResponse{}, nil
}

func (n *Node) publish(ctx context.Context, req *csi.NodePublishVolumeRequest) error {
	pr, err := validatePublish(req)
	if err != nil {
		return err
	}
	if !n.busy.acquire(pr.target) {
		return fail(codes.Aborted, "busy", "an operation on %s is in progress", pr.target)
	}
	defer n.busy.release(pr.target)

	mounted, err := n.cfg.Mounter.IsMounted(pr.target)
	if err != nil {
		return internal("mount", "%s: check mount of %s: %v", pr.source, pr.target, err)
	}
	if !mounted {
		return n.mountNew(ctx, pr)
	}
	prev, err := state.Load(pr.target)
	if err != nil {
		// Without state the files are still served; a fresh fetch rebuilds it.
		if !errors.Is(err, fs.ErrNotExist) {
			n.cfg.Log.Warn("volume state unreadable; fetching again", "target", pr.target, "error", err.Error())
		}
		prev = nil
	}
	if prev != nil && prev.Tampered != "" {
		// The refusal recorded when the tampering was found; no fetch
		// puts secrets into a volume someone else writes to.
		return fail(codes.FailedPrecondition, reasonTampered, "%s", prev.Tampered)
	}
	if prev != nil && n.cfg.Now().Sub(prev.LastFetch) < n.cfg.RotationInterval {
		return nil
	}
	return n.rotate(ctx, pr, prev)
}

func validatePublish(req *csi.NodePublishVolumeRequest) (publishRequest, error) {
	pr := publishRequest{volumeID: req.GetVolumeId(), target: req.GetTargetPath(), gid: -1,
		volumeContext: req.GetVolumeContext(), nodePublishSecret: req.GetSecrets()}
	switch {
	case pr.volumeID == "":
		return pr, invalid("volume id is missing")
	case pr.target == "":
		return pr, invalid("target path is missing")
	case req.GetVolumeCapability() == nil:
		return pr, invalid("volume capability is missing")
	case req.GetVolumeCapability().GetBlock() != nil:
		return pr, invalid("block volumes are not supported: use a mount volume")
	case req.GetVolumeCapability().GetMount() == nil:
		return pr, invalid("volume capability: access type mount is missing")
	}
	pr.name = pr.volumeContext[attributes.ImportAttribute]
	pr.namespace = pr.volumeContext[params.PodNamespace]
	if pr.name == "" {
		return pr, invalid("volume attribute %s is missing: name the SecretsStoreImport", attributes.ImportAttribute)
	}
	if pr.namespace == "" {
		return pr, invalid("volume context has no %s: the CSIDriver must set podInfoOnMount", params.PodNamespace)
	}
	pr.source = attributes.Source(pr.namespace, pr.name)
	if !req.GetReadonly() {
		// A writable volume lets a root container plant links that the
		// driver, as host root, would meet at the next rotation.
		return pr, invalid("%s: the volume is not read-only: set readOnly: true on the pod's csi volume", pr.source)
	}
	if g := req.GetVolumeCapability().GetMount().GetVolumeMountGroup(); g != "" {
		gid, err := strconv.Atoi(g)
		if err != nil || gid < 0 {
			return pr, invalid("%s: volume mount group %q: want a group id", pr.source, g)
		}
		pr.gid = gid
	}
	return pr, nil
}

// mountNew mounts and fills a volume; on any error it leaves nothing
// mounted, so kubelet's retry starts clean.
func (n *Node) mountNew(ctx context.Context, pr publishRequest) (err error) {
	if err := os.MkdirAll(pr.target, 0o750); err != nil {
		return internal("mount", "%s: make target %s: %v", pr.source, pr.target, err)
	}
	if err := n.cfg.Mounter.Mount(pr.target, pr.gid); err != nil {
		return internal("mount", "%s: %v", pr.source, err)
	}
	defer func() {
		if err == nil {
			return
		}
		if uerr := n.cfg.Mounter.Unmount(pr.target); uerr != nil {
			n.cfg.Log.Error("undo mount after failed publish", "target", pr.target, "error", uerr.Error())
		}
		_ = state.Remove(pr.target)
	}()
	writer := atomicwriter.Writer{Dir: pr.target, GID: pr.gid}
	versions, files, err := n.fetch(ctx, pr, nil, writer)
	if err != nil {
		return err
	}
	if err := n.write(writer, pr, files); err != nil {
		return err
	}
	if err := state.Save(n.volumeState(pr, versions)); err != nil {
		return internal("state", "%s: %v", pr.source, err)
	}
	n.cfg.Log.Info("volume published", "volume_id", pr.volumeID, "target", pr.target, "import", pr.source, "files", len(files))
	return nil
}

// rotate fetches a mounted volume again and rewrites it only when an
// object's version changed. On error the last good files stay.
func (n *Node) rotate(ctx context.Context, pr publishRequest, prev *state.Volume) error {
	start := n.cfg.Now()
	defer func() { n.cfg.Metrics.RotationDuration.Observe(n.cfg.Now().Sub(start).Seconds()) }()
	var current map[string]string
	if prev != nil {
		current = prev.ObjectVersions
	}
	writer := atomicwriter.Writer{Dir: pr.target, GID: pr.gid}
	err := func() error {
		versions, files, err := n.fetch(ctx, pr, current, writer)
		if err != nil {
			return err
		}
		result := "unchanged"
		if len(versions) == 0 || !maps.Equal(versions, current) {
			if err := n.write(writer, pr, files); err != nil {
				return err
			}
			result = "changed"
		}
		if err := state.Save(n.volumeState(pr, versions)); err != nil {
			return internal("state", "%s: %v", pr.source, err)
		}
		n.cfg.Metrics.RotationTotal.WithLabelValues(result).Inc()
		n.cfg.Log.Info("volume rotated", "volume_id", pr.volumeID, "target", pr.target, "import", pr.source, "result", result)
		return nil
	}()
	if reasonOf(err) == reasonTampered {
		n.markTampered(pr, prev, err)
	}
	if err != nil {
		n.cfg.Metrics.RotationErrors.WithLabelValues(reasonOf(err)).Inc()
		n.cfg.Log.Warn("rotation failed; last good files kept", "volume_id", pr.volumeID, "target", pr.target,
			"import", pr.source, "error", err.Error())
	}
	return err
}

func (n *Node) volumeState(pr publishRequest, versions map[string]string) *state.Volume {
	vc := pr.volumeContext
	return &state.Volume{
		VolumeID:   pr.volumeID,
		TargetPath: pr.target,
		Import:     pr.namespace + "/" + pr.name,
		Pod: state.Pod{Name: vc[params.PodName], Namespace: vc[params.PodNamespace], UID: vc[params.PodUID],
			ServiceAccount: vc[params.ServiceAccountName]},
		GID:            pr.gid,
		LastFetch:      n.cfg.Now(),
		ObjectVersions: versions,
	}
}

// fetch reads the SecretsStoreImport and asks the provider for the files.
// Objects the provider left out because their version equals current are
// taken from the volume's current files.
func (n *Node) fetch(ctx context.Context, pr publishRequest, current map[string]string, writer atomicwriter.Writer) (map[string]string, []atomicwriter.File, error) {
	ssi, err := n.getImport(ctx, pr)
	if err != nil {
		return nil, nil, err
	}
	attrs, err := attributes.FromImport(ssi, pr.volumeContext)
	if err != nil {
		return nil, nil, invalid("%v", err)
	}
	resp, err := n.mount(ctx, pr, attrs, current)
	if err != nil {
		return nil, nil, err
	}
	versions, files, err := n.collect(pr, resp, current, writer)
	if errors.Is(err, errKeptFileMissing) {
		// The volume lacks a file the provider thought we had: ask for all.
		if resp, err = n.mount(ctx, pr, attrs, nil); err != nil {
			return nil, nil, err
		}
		versions, files, err = n.collect(pr, resp, nil, writer)
	}
	return versions, files, err
}

func (n *Node) getImport(ctx context.Context, pr publishRequest) (*v1alpha1.SecretsStoreImport, error) {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	ssi, err := n.cfg.Imports.Get(ctx, pr.namespace, pr.name)
	if errors.Is(err, imports.ErrNotFound) {
		return nil, fail(codes.NotFound, "import_not_found", "%s not found (volume attribute %s)", pr.source, attributes.ImportAttribute)
	}
	if err != nil {
		return nil, fail(codes.Unavailable, "api", "%s: %v", pr.source, err)
	}
	return ssi, nil
}

func (n *Node) mount(ctx context.Context, pr publishRequest, attrs, current map[string]string) (*provider.MountResponse, error) {
	attrsJSON, err := json.Marshal(attrs)
	if err != nil {
		return nil, internal("encode", "%s: encode attributes: %v", pr.source, err)
	}
	secrets := pr.nodePublishSecret
	if secrets == nil {
		secrets = map[string]string{}
	}
	secretsJSON, err := json.Marshal(secrets)
	if err != nil {
		return nil, internal("encode", "%s: encode node publish secrets: %v", pr.source, err)
	}
	permission, err := json.Marshal(defaultFileMode)
	if err != nil {
		return nil, internal("encode", "%s: encode permission: %v", pr.source, err)
	}
	req := &provider.MountRequest{
		Attributes: string(attrsJSON),
		Secrets:    string(secretsJSON),
		TargetPath: pr.target,
		Permission: string(permission),
	}
	for id, v := range current {
		req.CurrentObjectVersion = append(req.CurrentObjectVersion, &provider.ObjectVersion{Id: id, Version: v})
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	resp, err := n.cfg.Provider.Mount(ctx, req)
	if err != nil {
		return nil, n.providerError(pr, err)
	}
	return resp, nil
}

// providerError keeps the provider's code where kubelet can act on it and
// makes sure the message names the SecretsStoreImport.
func (n *Node) providerError(pr publishRequest, err error) error {
	st, _ := status.FromError(err)
	code, msg := st.Code(), st.Message()
	switch code {
	case codes.InvalidArgument, codes.NotFound, codes.PermissionDenied, codes.Unauthenticated,
		codes.FailedPrecondition, codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted:
	case codes.Canceled:
		code = codes.Unavailable
	default:
		code = codes.Internal
	}
	if len(msg) < len(pr.source) || msg[:len(pr.source)] != pr.source {
		msg = fmt.Sprintf("%s: %s %s", pr.source, n.cfg.ProviderName, msg)
	}
	return fail(code, "provider_"+snake(code), "%s", msg)
}

var errKeptFileMissing = errors.New("kept file missing")

// collect checks the provider's files and completes them with the
// unchanged ones it left out.
func (n *Node) collect(pr publishRequest, resp *provider.MountResponse, current map[string]string, writer atomicwriter.Writer) (map[string]string, []atomicwriter.File, error) {
	versions := make(map[string]string, len(resp.GetObjectVersion()))
	for _, v := range resp.GetObjectVersion() {
		versions[v.GetId()] = v.GetVersion()
	}
	files := make([]atomicwriter.File, 0, len(resp.GetFiles()))
	returned := make(map[string]bool, len(resp.GetFiles()))
	for _, f := range resp.GetFiles() {
		// The provider is another process: re-check what it names.
		if err := params.ValidateFileName(f.GetPath()); err != nil {
			return nil, nil, internal("provider_file_name", "%s: %s returned a bad file name: %v", pr.source, n.cfg.ProviderName, err)
		}
		mode := os.FileMode(f.GetMode()).Perm()
		if f.GetMode() == 0 {
			mode = defaultFileMode
		}
		files = append(files, atomicwriter.File{Path: f.GetPath(), Mode: mode, Contents: f.GetContents()})
		returned[f.GetPath()] = true
	}
	for id, v := range versions {
		if returned[id] || current == nil || current[id] != v {
			continue
		}
		kept, err := writer.Read(id)
		var tampered *atomicwriter.TamperError
		if errors.As(err, &tampered) {
			return nil, nil, n.tampered(pr, tampered)
		}
		if err != nil {
			return nil, nil, errKeptFileMissing
		}
		files = append(files, kept)
	}
	if err := atomicwriter.ValidatePaths(files); err != nil {
		return nil, nil, internal("provider_file_name", "%s: %s returned: %v", pr.source, n.cfg.ProviderName, err)
	}
	return versions, files, nil
}

// NodeUnpublishVolume unmounts the target and removes it and its state.
// A target that is not mounted or is gone already is success.
func (n *Node) NodeUnpublishVolume(ctx context.Context, req *csi.NodeUnpublishVolumeRequest) (*csi.NodeUnpublishVolumeResponse, error) {
	start := n.cfg.Now()
	n.cfg.Metrics.UnpublishTotal.Inc()
	err := n.unpublish(req)
	n.cfg.Metrics.UnpublishDuration.Observe(n.cfg.Now().Sub(start).Seconds())
	if err != nil {
		n.cfg.Metrics.UnpublishErrors.WithLabelValues(reasonOf(err)).Inc()
		n.cfg.Log.Warn("unpublish failed", "volume_id", req.GetVolumeId(), "target", req.GetTargetPath(), "error", err.Error())
		return nil, err
	}
	return &csi.NodeUnpublishVolumeResponse{}, nil
}

func (n *Node) unpublish(req *csi.NodeUnpublishVolumeRequest) error {
	target := req.GetTargetPath()
	switch {
	case req.GetVolumeId() == "":
		return invalid("volume id is missing")
	case target == "":
		return invalid("target path is missing")
	}
	if !n.busy.acquire(target) {
		return fail(codes.Aborted, "busy", "an operation on %s is in progress", target)
	}
	defer n.busy.release(target)
	// Mounts may be stacked if an earlier publish raced; unmount them all.
	for range 8 {
		mounted, err := n.cfg.Mounter.IsMounted(target)
		if err != nil {
			return internal("mount", "check mount of %s: %v", target, err)
		}
		if !mounted {
			break
		}
		if err := n.cfg.Mounter.Unmount(target); err != nil {
			return internal("unmount", "%v", err)
		}
	}
	if err := state.Remove(target); err != nil {
		return internal("state", "%s: %v", target, err)
	}
	if err := os.Remove(target); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return internal("remove", "remove target: %v", err)
	}
	n.cfg.Log.Info("volume unpublished", "volume_id", req.GetVolumeId(), "target", target)
	return nil
}

// snake turns a code name like "PermissionDenied" into "permission_denied".
func snake(c codes.Code) string {
	s := c.String()
	out := make([]byte, 0, len(s)+4)
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch >= 'A' && ch <= 'Z' {
			if i > 0 {
				out = append(out, '_')
			}
			ch += 'a' - 'A'
		}
		out = append(out, ch)
	}
	return string(out)
}
