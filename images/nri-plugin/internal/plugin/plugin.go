// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package plugin is the containerd delivery of environment references: on
// containerd's CreateContainer (through NRI) it resolves the secrets-store:
// references of a container of an opted-in pod and returns the changed
// variables, which containerd writes into the container's OCI spec.
//
// It logs in to the store as the pod, with the projected service-account
// token that kubelet wrote into the pod's folder on the node (the webhook
// adds the volume, mounted into no container), and revokes its store token
// when done. It needs no Kubernetes API access.
package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/containerd/nri/pkg/api"

	"github.com/deckhouse/secrets-store-integration/images/internal/environ"
	"github.com/deckhouse/secrets-store-integration/images/internal/envref"
	"github.com/deckhouse/secrets-store-integration/images/internal/injection"
	"github.com/deckhouse/secrets-store-integration/images/internal/params"
	"github.com/deckhouse/secrets-store-integration/images/internal/store"
	"github.com/deckhouse/secrets-store-integration/images/internal/storepolicy"
)

// Results of one CreateContainer, the label of the requests metric.
const (
	Untouched = "untouched" // not opted in to containerd delivery, a skipped container, or one without references
	Adjusted  = "adjusted"  // references resolved
	Failed    = "failed"    // container creation refused
)

// Bounds of what one container may ask for, so that a hostile or broken pod
// spec cannot hold the plugin (and containerd's request) for long or make it
// read without end: every secret is one sequential request to the store.
const (
	// MaxReferences bounds the variables holding references plus the
	// env-from-path secrets of one container.
	MaxReferences = 200
	// MaxReferenceBytes bounds the text of those variables, together.
	MaxReferenceBytes = 256 << 10
	// maxTokenBytes bounds the token file read: a service-account JWT is
	// a few KiB.
	maxTokenBytes = 64 << 10
	// revokeTimeout bounds the revocation of the store token, which runs
	// after the answer to containerd.
	revokeTimeout = 2 * time.Second
)

// Config of the plugin.
type Config struct {
	// KubeletRoot is kubelet's --root-dir on the node, as the plugin sees
	// it (the chart mounts <root>/pods read-only at the same path).
	KubeletRoot string
	// Defaults are the module's store, for pods that name none.
	Defaults params.Defaults
	// Policy is which other stores a pod may name (addr, tls-skip-verify).
	Policy storepolicy.Policy
	// RequestTimeout bounds one container's whole resolution; containerd's
	// own plugin_request_timeout bounds it too.
	RequestTimeout time.Duration
	// Observer gets the store's requests, for metrics; nil: none.
	Observer store.Observer
	Log      *slog.Logger
}

// Plugin handles containerd's CreateContainer.
type Plugin struct {
	cfg      Config
	metrics  *Metrics
	revoking sync.WaitGroup
}

// New returns the plugin; m may be nil.
func New(cfg Config, m *Metrics) *Plugin {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Plugin{cfg: cfg, metrics: m}
}

// CreateContainer is the NRI stub's handler: it returns the adjusted
// environment, or an error that makes containerd refuse the container.
func (p *Plugin) CreateContainer(ctx context.Context, pod *api.PodSandbox, ctr *api.Container) (*api.ContainerAdjustment, []*api.ContainerUpdate, error) {
	start := time.Now()
	adj, result, err := p.Adjust(ctx, pod, ctr)
	took := time.Since(start)
	p.metrics.observe(result, took)
	log := p.cfg.Log.With("namespace", pod.GetNamespace(), "pod", pod.GetName(), "container", ctr.GetName())
	switch result {
	case Failed:
		// err names variables, paths and the store's answer, never a value.
		log.Warn("container refused", "error", err.Error(), "took", took.String())
	case Adjusted:
		log.Info("container environment resolved", "variables", len(adj.GetEnv()), "took", took.String())
	default:
		log.Debug("container untouched")
	}
	return adj, nil, err
}

// Adjust resolves the references of ctr, a container of pod, and says which
// result it counts as. The error names the pod, the container and what
// failed (variable, path, the store's answer); it never holds a value.
func (p *Plugin) Adjust(ctx context.Context, pod *api.PodSandbox, ctr *api.Container) (*api.ContainerAdjustment, string, error) {
	ann := pod.GetAnnotations()
	if !injection.Enabled(ann) || !injection.Containerd(ann) {
		return nil, Untouched, nil
	}
	fail := func(err error) (*api.ContainerAdjustment, string, error) {
		// One line: kubelet shows it as the pod's event.
		return nil, Failed, fmt.Errorf("secrets-store: pod %s/%s, container %q: %s", pod.GetNamespace(), pod.GetName(), ctr.GetName(),
			strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	settings, _, err := injection.FromAnnotations(ann, p.cfg.Defaults)
	if err != nil {
		return fail(err)
	}
	// The plugin, not the pod, sends the pod's token from the node: only
	// to the stores the module's settings allow, as for imports.
	if err := p.cfg.Policy.Check("", storepolicy.AnnotationFields, settings.Address, settings.SkipVerify, ""); err != nil {
		return fail(err)
	}
	if slices.Contains(settings.SkipContainers, ctr.GetName()) {
		return nil, Untouched, nil
	}
	refs, err := checkBounds(ctr.GetEnv(), settings.EnvFromPath)
	if err != nil {
		return fail(err)
	}
	if refs == 0 {
		// A sidecar without references needs neither the token nor the
		// store: it starts even while the store is down.
		return nil, Untouched, nil
	}
	jwt, err := p.token(pod.GetUid())
	if err != nil {
		return fail(err)
	}
	ns, sa, err := store.ServiceAccountOf(jwt)
	if err != nil {
		return fail(fmt.Errorf("the projected token: %w", err))
	}
	if ns != pod.GetNamespace() {
		// Names only: the token itself stays out of the error.
		return fail(fmt.Errorf("the projected token is of namespace %q, not the pod's", ns))
	}

	ctx, cancel := context.WithTimeout(ctx, p.budget(ctx))
	defer cancel()
	// A store of its own per container: its token cache then holds this
	// pod's login only, which no other container's revocation can pull
	// away, and every container's login proves its own pod's token.
	st := store.New(store.Options{RequestTimeout: p.cfg.RequestTimeout, Observer: p.cfg.Observer, TokenMaxReuse: -1, LoginBurst: -1})
	sess, err := st.Session(settings.StoreConfig(), store.Login{
		AuthMount: settings.AuthPath, Role: settings.Role, JWT: jwt, PodNamespace: ns, ServiceAccount: sa,
	})
	if err != nil {
		return fail(fmt.Errorf("store %s: %w", settings.Address, err))
	}
	if err := sess.LogIn(ctx); err != nil {
		p.release(st, sess, false)
		return fail(fmt.Errorf("store %s: %w", settings.Address, err))
	}
	// No Token: secrets-store:login would put the store token into the
	// container's spec on the node's disk; the webhook refuses it, and
	// Build fails on it here.
	res, err := environ.Build(ctx, sess, ctr.GetEnv(), environ.Options{
		EnvFromPath: settings.EnvFromPath, IgnoreMissing: settings.IgnoreMissing, Log: p.cfg.Log,
	})
	p.release(st, sess, err == nil && leased(res.Leases))
	if err != nil {
		return fail(err)
	}
	return changes(ctr.GetEnv(), res.Env), Adjusted, nil
}

// token reads the pod's projected token through an os.Root opened at the
// volume's folder: kubelet's token -> ..data/token links resolve inside it,
// and nothing the pod's name or a link says can reach a file outside it.
func (p *Plugin) token(uid string) (string, error) {
	if !isUID(uid) {
		return "", fmt.Errorf("pod UID %q is not a UUID", truncate(uid))
	}
	dir := filepath.Join(p.cfg.KubeletRoot, "pods", uid, "volumes", "kubernetes.io~projected", injection.TokenVolume)
	root, err := os.OpenRoot(dir)
	if err != nil {
		return "", fmt.Errorf("open the projected token volume %s (is kubelet's root %s, and does the pod have the volume the webhook adds?): %w",
			injection.TokenVolume, p.cfg.KubeletRoot, err)
	}
	defer root.Close()
	f, err := root.Open(injection.TokenFile)
	if err != nil {
		return "", fmt.Errorf("read the projected token: %w", err)
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxTokenBytes+1))
	if err != nil {
		return "", fmt.Errorf("read the projected token: %w", err)
	}
	if len(raw) > maxTokenBytes {
		return "", fmt.Errorf("the projected token is over %d bytes", maxTokenBytes)
	}
	jwt := strings.TrimSpace(string(raw))
	if jwt == "" {
		return "", errors.New("the projected token is empty")
	}
	return jwt, nil
}

// budget is how long one container's resolution may take: RequestTimeout,
// and a fifth less than what is left of the runtime's deadline. containerd
// treats a plugin that misses its deadline as gone and creates the
// container without the plugin's adjustment, so the plugin must answer,
// with an error if need be, before then.
func (p *Plugin) budget(ctx context.Context) time.Duration {
	b := p.cfg.RequestTimeout
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		b = min(b, left-left/5)
	}
	return b
}

// release revokes the session's store token, and with it the leases read
// with it, unless keep: a dynamic secret's lease dies with the token, and
// the container is about to use what was read under it. It runs after the
// answer to containerd, whose deadline the revocation must not eat into;
// Wait waits for it.
func (p *Plugin) release(st *store.Store, sess *store.Session, keep bool) {
	if keep {
		p.cfg.Log.Warn("keeping the store token: revoking it would revoke the leases of the dynamic secrets the container gets; they end with the token's TTL",
			"role", sess.Identity().Role, "service_account", sess.Identity().PodNamespace+"/"+sess.Identity().ServiceAccount)
	}
	p.revoking.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), revokeTimeout)
		defer cancel()
		if !keep {
			if err := sess.RevokeToken(ctx); err != nil {
				// Not fatal: the token ends with its TTL.
				p.cfg.Log.Warn("revoke the store token", "error", err.Error())
			} else {
				p.cfg.Log.Debug("store token revoked")
			}
		}
		// Drops what the store kept (a leased token stays valid).
		_ = st.Close(ctx)
	})
}

// Wait waits for the revocations under way.
func (p *Plugin) Wait() { p.revoking.Wait() }

func leased(leases []environ.Lease) bool {
	return slices.ContainsFunc(leases, func(l environ.Lease) bool { return l.ID != "" })
}

// checkBounds counts the variables with references and the env-from-path
// secrets of a container, and refuses more than MaxReferences of them or
// more than MaxReferenceBytes of reference text.
func checkBounds(env []string, fromPath []envref.Secret) (int, error) {
	refs, size := len(fromPath), 0
	for _, kv := range env {
		if _, v, _ := strings.Cut(kv, "="); envref.Has(v) {
			refs++
			size += len(v)
		}
	}
	if refs > MaxReferences {
		return refs, fmt.Errorf("%d references (variables and env-from-path secrets); at most %d are read for one container", refs, MaxReferences)
	}
	if size > MaxReferenceBytes {
		return refs, fmt.Errorf("the variables with references hold %d bytes; at most %d are read for one container", size, MaxReferenceBytes)
	}
	return refs, nil
}

// changes is the adjustment from the container's environment before to the
// one environ built: each variable whose value changed or that is new, and
// the removal of each reference left out (ignore-missing-secrets). Other
// variables environ drops (the env injector's own settings) are not ours
// to remove here: no injector runs in this way.
func changes(before, after []string) *api.ContainerAdjustment {
	old := map[string]string{}
	for _, kv := range before {
		k, v, _ := strings.Cut(kv, "=")
		old[k] = v
	}
	adj := &api.ContainerAdjustment{}
	kept := map[string]bool{}
	for _, kv := range after {
		k, v, _ := strings.Cut(kv, "=")
		kept[k] = true
		if was, ok := old[k]; !ok || was != v {
			adj.AddEnv(k, v)
		}
	}
	var removed []string
	for k, v := range old {
		if !kept[k] && envref.Has(v) {
			removed = append(removed, k)
		}
	}
	slices.Sort(removed)
	for _, k := range removed {
		adj.RemoveEnv(k)
	}
	if len(adj.Env) == 0 {
		return nil
	}
	return adj
}

// isUID accepts the canonical text of a UUID, the form of a pod's UID: it
// becomes a path component.
func isUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
				return false
			}
		}
	}
	return true
}

func truncate(s string) string {
	const max = 64
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
