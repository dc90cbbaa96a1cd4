// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Command controller is the module's SecretsStoreImport controller, one
// Deployment per cluster with leader election. It syncs store values into
// Kubernetes Secrets for imports of type KubernetesSecret (way 4, the least
// safe: the values end up in etcd), and gives every import a status: Ready
// and Synced conditions, events, no secret values in any of them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/client/config"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/deckhouse/secrets-store-integration/images/controller/internal/csicheck"
	"github.com/deckhouse/secrets-store-integration/images/controller/internal/hmackey"
	"github.com/deckhouse/secrets-store-integration/images/controller/internal/metrics"
	"github.com/deckhouse/secrets-store-integration/images/controller/internal/satoken"
	"github.com/deckhouse/secrets-store-integration/images/controller/internal/secretsync"
	"github.com/deckhouse/secrets-store-integration/images/internal/buildinfo"
	"github.com/deckhouse/secrets-store-integration/images/internal/daemon"
	"github.com/deckhouse/secrets-store-integration/images/internal/healthserver"
	"github.com/deckhouse/secrets-store-integration/images/internal/keyfile"
	"github.com/deckhouse/secrets-store-integration/images/internal/kubeclient"
	"github.com/deckhouse/secrets-store-integration/images/internal/params"
	"github.com/deckhouse/secrets-store-integration/images/internal/store"
	"github.com/deckhouse/secrets-store-integration/images/internal/storepolicy"
)

type options struct {
	namespace        string
	leaderElect      bool
	leaderElectionID string
	defaults         params.Defaults
	policy           storepolicy.Policy
	storeTimeout     time.Duration
	hmacKeyFile      string
	hmacKeySecret    string
	tokenTTL         time.Duration
	workers          int
	perNamespace     int
	syncTimeUpdate   time.Duration
	kubeQPS          float64
	kubeBurst        int
	retryBase        time.Duration
	retryMax         time.Duration
	csiCheckInterval time.Duration
	metricsAddr      string
	logLevel         string
}

func main() {
	var o options
	flag.StringVar(&o.namespace, "namespace", envOr("POD_NAMESPACE", "d8-secrets-store-integration"), "the controller's namespace: leader election lease and the HMAC key Secret")
	flag.BoolVar(&o.leaderElect, "leader-elect", true, "elect a leader among replicas; only the leader reconciles")
	flag.StringVar(&o.leaderElectionID, "leader-election-id", "secrets-store-integration-controller", "name of the leader election Lease")
	o.defaults.AddFlags(flag.CommandLine)
	flag.DurationVar(&o.storeTimeout, "store-timeout", 15*time.Second, "timeout of one request to the store")
	flag.StringVar(&o.hmacKeyFile, "hmac-key-file", "", "file with the hex HMAC key of the data digests in Secret annotations; default: --hmac-key-secret")
	flag.StringVar(&o.hmacKeySecret, "hmac-key-secret", "secrets-store-controller-hmac", "Secret in --namespace holding the HMAC key; created with a random key if missing")
	flag.DurationVar(&o.tokenTTL, "token-ttl", satoken.MinTTL, "lifetime of the ServiceAccount tokens requested to log in to the store (at least 10m)")
	flag.IntVar(&o.workers, "workers", 16, "KubernetesSecret imports synced at once; with --per-namespace-workers 2, it takes 8 namespaces whose stores hang to hold them all")
	flag.IntVar(&o.perNamespace, "per-namespace-workers", 2, "KubernetesSecret imports of one namespace synced at once; below --workers, so that one namespace's slow store cannot hold every worker")
	flag.DurationVar(&o.syncTimeUpdate, "last-sync-time-interval", time.Hour, "how old status.lastSyncTime may grow while refreshes find the store's data unchanged; each update is one API write per import")
	flag.Float64Var(&o.kubeQPS, "kube-api-qps", 50, "requests a second to the Kubernetes API, per kind of object (imports, Secrets, events)")
	flag.IntVar(&o.kubeBurst, "kube-api-burst", 100, "requests to the Kubernetes API allowed at once above --kube-api-qps, per kind of object")
	flag.DurationVar(&o.retryBase, "retry-base-delay", 2*time.Second, "first retry delay after a failure; doubles up to --retry-max-delay")
	flag.DurationVar(&o.retryMax, "retry-max-delay", 5*time.Minute, "longest retry delay after failures")
	flag.DurationVar(&o.csiCheckInterval, "csi-check-interval", 10*time.Minute, "how often the role of each CSI import is checked in the store; 0: spec validation only")
	flag.StringVar(&o.metricsAddr, "metrics-addr", ":8099", "address of /metrics, /healthz and /readyz")
	flag.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	o.policy.AddFlags(flag.CommandLine)
	buildinfo.AddFlag(flag.CommandLine, "controller")
	flag.Parse()
	o.policy.DefaultAddress = o.defaults.Address
	daemon.Main("controller", o.logLevel, func(ctx context.Context, log *slog.Logger) error {
		// controller-runtime and client-go (leader election) log through slog too.
		ctrl.SetLogger(logr.FromSlogHandler(log.Handler()))
		klog.SetSlogLogger(log)
		return run(ctx, o, log)
	})
}

func run(ctx context.Context, o options, log *slog.Logger) error {
	// Zero would give client-go's default of 5 requests a second.
	if o.kubeQPS <= 0 || o.kubeBurst < 1 || o.syncTimeUpdate < 0 {
		return fmt.Errorf("--kube-api-qps %v and --kube-api-burst %d must be above 0, --last-sync-time-interval %s not negative",
			o.kubeQPS, o.kubeBurst, o.syncTimeUpdate)
	}
	// controller-runtime registers --kubeconfig on the command line (it
	// would panic on a second one). Its own GetConfig gave 20 requests a
	// second: 10 first syncs a second (each writes a finalizer and a
	// status), 101 s for 1,000 imports against 45 s at 50.
	config, err := kubeclient.Config(kubeclient.Options{
		Kubeconfig: flag.Lookup(ctrlconfig.KubeconfigFlagName).Value.String(), Component: "controller", QPS: float32(o.kubeQPS), Burst: o.kubeBurst})
	if err != nil {
		return err
	}
	kube, err := kubernetes.NewForConfig(config)
	if err != nil {
		return fmt.Errorf("make kubernetes client: %w", err)
	}
	key, err := hmacKey(ctx, o, kube)
	if err != nil {
		return err
	}

	m := metrics.New()
	mgr, err := ctrl.NewManager(config, ctrl.Options{
		Scheme: clientgoscheme.Scheme,
		Cache: cache.Options{ByObject: map[client.Object]cache.ByObject{
			// Only the Secrets the controller writes: not every Secret of
			// the cluster in its memory.
			&corev1.Secret{}: {Label: labels.SelectorFromSet(labels.Set{secretsync.LabelManaged: "true"})},
		},
			// The controller never reads managedFields; every import keeps
			// two entries of them (the user's apply, the status apply), a
			// large share of a cached object at 10,000 imports.
			DefaultTransform: cache.TransformStripManagedFields(),
		},
		// Imports are read as unstructured objects: from the cache too.
		Client: client.Options{Cache: &client.CacheOptions{Unstructured: true}},
		// Our own listener serves our metrics; controller-runtime's is off.
		Metrics:                       metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:        "0",
		LeaderElection:                o.leaderElect,
		LeaderElectionID:              o.leaderElectionID,
		LeaderElectionNamespace:       o.namespace,
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return fmt.Errorf("make controller manager: %w", err)
	}
	st := store.New(store.Options{RequestTimeout: o.storeTimeout, Observer: m})
	defer func() {
		// Tokens of this process would outlive it in the store; those
		// that read a lease stay, since Secrets hold what it grants.
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := st.Close(rctx); err != nil {
			log.Warn("revoke store tokens at shutdown", "error", err.Error())
		}
	}()
	events := mgr.GetEventRecorder("secrets-store-controller")
	limiter := func() workqueue.TypedRateLimiter[reconcile.Request] {
		return workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](o.retryBase, o.retryMax)
	}

	sync := secretsync.New(secretsync.Config{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Store: st,
		Tokens:   satoken.New(kube, o.tokenTTL, o.policy.Audiences(), m.TokenRequested),
		Defaults: o.defaults, Policy: o.policy, HMACKey: key, Events: events, Metrics: m, Log: log,
		SyncTimeUpdate: o.syncTimeUpdate,
		PerNamespace:   min(o.perNamespace, max(o.workers-1, 1)),
	})
	if err := sync.SetupWithManager(mgr, controller.Options{MaxConcurrentReconciles: o.workers, RateLimiter: limiter()}); err != nil {
		return fmt.Errorf("set up %s: %w", secretsync.Name, err)
	}
	check := csicheck.New(csicheck.Config{
		Client: mgr.GetClient(), Checker: st, Defaults: o.defaults, Policy: o.policy, Interval: o.csiCheckInterval,
		Events: events, Metrics: m,
	})
	if err := check.SetupWithManager(mgr, controller.Options{RateLimiter: limiter()}); err != nil {
		return fmt.Errorf("set up %s: %w", csicheck.Name, err)
	}

	srvErr, mgrErr := make(chan error, 1), make(chan error, 1)
	go func() {
		srvErr <- healthserver.Serve(ctx, healthserver.Config{
			Addr: o.metricsAddr, Gatherer: m.Registry, Namespace: metrics.Namespace, Log: log,
			Ready: func(ctx context.Context) error {
				if !mgr.GetCache().WaitForCacheSync(ctx) {
					return errors.New("caches not synced")
				}
				return nil
			},
		})
	}()
	go func() { mgrErr <- mgr.Start(ctx) }()
	log.Info("controller started", "namespace", o.namespace, "leaderElection", o.leaderElect,
		"defaultAddress", o.defaults.Address, "defaultAuthMount", o.defaults.AuthMount,
		"csiCheckInterval", o.csiCheckInterval.String())
	select {
	case <-ctx.Done():
		log.Info("stopping on signal")
		// Start returns once the controllers stopped and the lease is
		// released, so the next leader takes over at once.
		return <-mgrErr
	case err := <-mgrErr:
		return err
	case err := <-srvErr:
		return err
	}
}

// hmacKey reads the HMAC key from --hmac-key-file, or from the Secret named
// by --hmac-key-secret, creating it at the first start.
func hmacKey(ctx context.Context, o options, kube kubernetes.Interface) ([]byte, error) {
	if o.hmacKeyFile != "" {
		return keyfile.Read(o.hmacKeyFile)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return hmackey.FromSecret(ctx, kube, o.namespace, o.hmacKeySecret)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
