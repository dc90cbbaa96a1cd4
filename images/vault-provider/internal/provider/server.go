// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	pb "sigs.k8s.io/secrets-store-csi-driver/provider/v1alpha1"

	"github.com/deckhouse/secrets-store-integration/images/internal/buildinfo"
	"github.com/deckhouse/secrets-store-integration/images/internal/params"
	"github.com/deckhouse/secrets-store-integration/images/internal/render"
	"github.com/deckhouse/secrets-store-integration/images/internal/secretfiles"
	"github.com/deckhouse/secrets-store-integration/images/internal/secretmodel"
	"github.com/deckhouse/secrets-store-integration/images/internal/store"
	"github.com/deckhouse/secrets-store-integration/images/internal/storepolicy"
)

// RuntimeName of the provider, as Version reports it with the build's
// version.
const RuntimeName = "secrets-store-integration-vault-provider"

// Config of a Server.
type Config struct {
	Defaults params.Defaults
	// Policy says which addresses, audiences and TLS settings a request
	// may name. The provider is where kubelet's token leaves the node, so
	// it holds for our driver and the upstream one alike.
	Policy storepolicy.Policy
	// ReadCacheTTL is how long a GET is shared between pods of one
	// identity; 0 disables sharing.
	ReadCacheTTL time.Duration
	// VersionKey is the HMAC key of object versions.
	VersionKey []byte
	Store      *store.Store
	Metrics    *Metrics
	Log        *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Server implements CSIDriverProvider.
type Server struct {
	pb.UnimplementedCSIDriverProviderServer
	cfg      Config
	versions versioner
	shared   *sharedReads
}

// NewServer returns a Server.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Metrics == nil {
		return nil, errors.New("provider needs a store and metrics")
	}
	if len(cfg.VersionKey) < 16 {
		return nil, errors.New("object version key must have at least 16 bytes")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Defaults.AuthMount == "" {
		cfg.Defaults.AuthMount = params.AuthKubernetes
	}
	s := &Server{cfg: cfg, versions: versioner{key: cfg.VersionKey}}
	s.shared = newSharedReads(cfg.ReadCacheTTL, cfg.Now, cfg.Metrics.sharedHits.Inc)
	return s, nil
}

// Version implements CSIDriverProvider.
func (s *Server) Version(context.Context, *pb.VersionRequest) (*pb.VersionResponse, error) {
	return &pb.VersionResponse{Version: "v1alpha1", RuntimeName: RuntimeName, RuntimeVersion: buildinfo.Version()}, nil
}

// Mount implements CSIDriverProvider: it reads every object of the request
// and returns the files. Any failure fails the whole request, so the driver
// keeps what it already wrote.
func (s *Server) Mount(ctx context.Context, req *pb.MountRequest) (*pb.MountResponse, error) {
	began := time.Now()
	resp, reason, err := s.mount(ctx, req)
	s.cfg.Metrics.mount(reason, time.Since(began))
	if err != nil {
		s.cfg.Log.WarnContext(ctx, "mount failed", "reason", reason, "error", err.Error(), "took", time.Since(began))
		return nil, status.Error(grpcCode(reason), err.Error())
	}
	return resp, nil
}

func (s *Server) mount(ctx context.Context, req *pb.MountRequest) (*pb.MountResponse, string, error) {
	p, err := params.Parse(req.GetAttributes())
	if err != nil {
		return nil, "invalid_request", err
	}
	log := s.cfg.Log.With("source", p.Source, "pod", p.PodNamespace+"/"+p.PodName,
		"serviceAccount", p.ServiceAccount, "role", p.Role)
	// Before the token is even looked at: a refused address must receive
	// nothing.
	if err := s.cfg.Policy.CheckParameters(p); err != nil {
		return nil, "not_allowed", err
	}
	mode, err := requestMode(req.GetPermission())
	if err != nil {
		return nil, "invalid_request", p.Errorf("%w", err)
	}
	jwt, err := params.Token(p)
	if err != nil {
		return nil, "invalid_request", err
	}
	current := map[string]string{}
	if p.KeepUnchangedFiles {
		for _, v := range req.GetCurrentObjectVersion() {
			current[v.GetId()] = v.GetVersion()
		}
	}
	now := s.cfg.Now()
	groups, err := secretfiles.Read(ctx, s.cfg.Store, secretfiles.Request{
		Params: p, Defaults: s.cfg.Defaults, JWT: jwt,
		FileBytes: render.VolumeFileBytes, TotalBytes: render.VolumeBytes,
		Keep: func(group []secretmodel.Object) bool { return keepGroup(group, current, now) },
		Read: s.read,
	})
	if err != nil {
		return nil, failureReason(err), err
	}
	resp, kept := s.response(groups, current, mode, now)
	log.InfoContext(ctx, "mounted", "objects", len(p.Objects), "files", len(resp.Files), "kept", kept)
	return resp, "", nil
}

// response is the driver's answer: the files of the groups read, with
// versions that carry their lease, and the current versions of those kept.
func (s *Server) response(groups []secretfiles.Group, current map[string]string, mode os.FileMode, now time.Time) (*pb.MountResponse, int) {
	resp := &pb.MountResponse{}
	kept := 0
	for _, g := range groups {
		if g.Kept() {
			for _, o := range g.Objects {
				resp.ObjectVersion = append(resp.ObjectVersion, &pb.ObjectVersion{Id: o.ObjectName, Version: current[o.ObjectName]})
			}
			kept += len(g.Objects)
			s.cfg.Metrics.leasesKept.Add(float64(len(g.Objects)))
			continue
		}
		issued, expiry := leaseOf(g.Objects[0], g.Secret, now)
		for i, o := range g.Objects {
			fileMode := mode
			if o.FilePermission != 0 {
				fileMode = o.FilePermission
			}
			resp.Files = append(resp.Files, &pb.File{Path: o.ObjectName, Mode: int32(fileMode), Contents: g.Contents[i]})
			resp.ObjectVersion = append(resp.ObjectVersion, &pb.ObjectVersion{
				Id: o.ObjectName, Version: s.versions.version(o.ObjectName, g.Contents[i], issued, expiry)})
		}
	}
	return resp, kept
}

// read reads a secret for secretfiles; GETs go through the shared reads.
func (s *Server) read(ctx context.Context, sess *store.Session, r store.Request) (*store.Secret, error) {
	if r.Method != http.MethodGet {
		return sess.Read(ctx, r)
	}
	key := sharedKey(sess.Identity(), sess.TLS(), r.Path, r.Version)
	return s.shared.read(ctx, key, func(ctx context.Context) (*store.Secret, error) { return sess.Read(ctx, r) })
}

// keepGroup: every object of the group has a fresh lease in the driver's
// current versions, so the driver's files stay and nothing is re-issued. One
// stale member re-reads the group, so related values still match.
func keepGroup(group []secretmodel.Object, current map[string]string, now time.Time) bool {
	for _, o := range group {
		v, ok := current[o.ObjectName]
		if !ok || !leaseFresh(v, now) {
			return false
		}
	}
	return true
}

// leaseOf returns when the secret was issued and when it expires; a zero
// expiry means no lease. PKI certificates have no lease by default but an
// expiration, which rotation must respect just the same.
func leaseOf(o secretmodel.Object, sec *store.Secret, now time.Time) (time.Time, time.Time) {
	if sec.LeaseID != "" && sec.LeaseDuration > 0 {
		return now, now.Add(sec.LeaseDuration)
	}
	if o.Method == http.MethodGet {
		return time.Time{}, time.Time{}
	}
	if exp, ok := sec.Data["expiration"].(json.Number); ok {
		if n, err := exp.Int64(); err == nil && n > now.Unix() {
			return now, time.Unix(n, 0)
		}
	}
	return time.Time{}, time.Time{}
}

// requestMode decodes the request's permission: the driver sends a JSON
// number (decimal file mode). Empty means 0644.
func requestMode(s string) (os.FileMode, error) {
	if strings.TrimSpace(s) == "" {
		return 0o644, nil
	}
	var m uint32
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return 0, fmt.Errorf("permission %q: want a decimal file mode", s)
	}
	if os.FileMode(m)&^os.ModePerm != 0 {
		return 0, fmt.Errorf("permission %#o: only permission bits", m)
	}
	return os.FileMode(m), nil
}

// failureReason is the metric reason of a secretfiles failure.
func failureReason(err error) string {
	var fe *secretfiles.Error
	if errors.As(err, &fe) {
		switch fe.Stage {
		case secretfiles.StageConnect:
			return "invalid_request"
		case secretfiles.StageRender:
			return "render"
		}
	}
	return reasonOf(err)
}

func reasonOf(err error) string {
	var re *render.Error
	switch {
	case errors.As(err, &re):
		return "render"
	case store.IsDenied(err), store.IsLoginRefused(err):
		return "denied"
	case store.IsNotFound(err):
		return "not_found"
	case store.StatusCode(err) >= 500:
		return "store_unavailable"
	case store.StatusCode(err) == 0:
		return "store_unavailable"
	default:
		return "store_error"
	}
}

func grpcCode(reason string) codes.Code {
	switch reason {
	case "invalid_request", "render":
		return codes.InvalidArgument
	case "denied", "not_allowed":
		return codes.PermissionDenied
	case "not_found":
		return codes.NotFound
	case "store_unavailable":
		return codes.Unavailable
	default:
		return codes.Unknown
	}
}
