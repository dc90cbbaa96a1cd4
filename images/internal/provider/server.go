package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	pb "sigs.k8s.io/secrets-store-csi-driver/provider/v1alpha1"

	"github.com/deckhouse/secrets-store-integration/images/internal/buildinfo"
	"github.com/deckhouse/secrets-store-integration/images/internal/params"
	"github.com/deckhouse/secrets-store-integration/images/internal/render"
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
	jwt, err := p.Token()
	if err != nil {
		return nil, "invalid_request", err
	}
	cfg, login := s.cfg.Defaults.Connection(p)
	login.JWT = jwt
	sess, err := s.cfg.Store.Session(cfg, login)
	if err != nil {
		return nil, "invalid_request", p.Errorf("%w", err)
	}

	current := map[string]string{}
	if p.KeepUnchangedFiles {
		for _, v := range req.GetCurrentObjectVersion() {
			current[v.GetId()] = v.GetVersion()
		}
	}
	now := s.cfg.Now()
	groups := params.GroupByRead(p.Objects)
	keep := make([]bool, len(groups))
	for i, g := range groups {
		keep[i] = keepGroup(g, current, now)
	}
	if slices.Contains(keep, false) {
		if err := sess.LogIn(ctx); err != nil {
			return nil, reasonOf(err), p.Errorf("%w", err)
		}
	}
	resp := &pb.MountResponse{}
	kept := 0
	budget := render.NewBudget(render.VolumeFileBytes, render.VolumeBytes)
	for i, group := range groups {
		if keep[i] {
			for _, o := range group {
				resp.ObjectVersion = append(resp.ObjectVersion, &pb.ObjectVersion{Id: o.ObjectName, Version: current[o.ObjectName]})
			}
			kept += len(group)
			s.cfg.Metrics.leasesKept.Add(float64(len(group)))
			continue
		}
		first := group[0]
		secret, err := s.read(ctx, sess, first)
		if err != nil {
			return nil, reasonOf(err), p.Errorf("%s: %w", first.Ref, err)
		}
		issued, expiry := leaseOf(first, secret, now)
		for _, o := range group {
			content, err := contentOf(ctx, p, o, secret, budget)
			if err != nil {
				return nil, "render", p.Errorf("%s: %w", o.Ref, err)
			}
			fileMode := mode
			if o.FilePermission != 0 {
				fileMode = o.FilePermission
			}
			resp.Files = append(resp.Files, &pb.File{Path: o.ObjectName, Mode: int32(fileMode), Contents: content})
			resp.ObjectVersion = append(resp.ObjectVersion, &pb.ObjectVersion{
				Id: o.ObjectName, Version: s.versions.version(o.ObjectName, content, issued, expiry)})
		}
	}
	log.InfoContext(ctx, "mounted", "objects", len(p.Objects), "files", len(resp.Files), "kept", kept)
	return resp, "", nil
}

// contentOf is the file of o: vault-csi-provider's whole response for an
// object without secretKey or template in a request of its form, else what
// render gives a SecretsStoreImport's file.
func contentOf(ctx context.Context, p params.Parameters, o params.Object, secret *store.Secret, budget *render.Budget) ([]byte, error) {
	if p.WholeResponse && o.SecretKey == "" && o.Template == "" {
		return render.WholeResponse(o, secret.Path, secret.Response, budget)
	}
	return render.Content(ctx, o, secret.Path, secret.Data, budget)
}

// read reads the object's secret; GETs go through the shared reads.
func (s *Server) read(ctx context.Context, sess *store.Session, o params.Object) (*store.Secret, error) {
	r := store.Request{Path: o.SecretPath, Method: o.Method, Args: o.SecretArgs, Version: o.Version}
	if o.Method != http.MethodGet {
		return sess.Read(ctx, r)
	}
	key := sharedKey(sess.Identity(), sess.TLS(), o.SecretPath, o.Version)
	return s.shared.read(ctx, key, func(ctx context.Context) (*store.Secret, error) { return sess.Read(ctx, r) })
}

// keepGroup: every object of the group has a fresh lease in the driver's
// current versions, so the driver's files stay and nothing is re-issued. One
// stale member re-reads the group, so related values still match.
func keepGroup(group []params.Object, current map[string]string, now time.Time) bool {
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
func leaseOf(o params.Object, sec *store.Secret, now time.Time) (time.Time, time.Time) {
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
