// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Command webhook is the mutating admission webhook of entrypoint injection
// and the validating webhook of SecretsStoreImports (admission.ImportHandler):
// for each pod that opts in with the secrets-store.deckhouse.io/role
// annotation it adds an init container that copies the env injector into a
// memory volume, and makes every container start through it.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/deckhouse/secrets-store-integration/images/internal/buildinfo"
	"github.com/deckhouse/secrets-store-integration/images/internal/daemon"
	"github.com/deckhouse/secrets-store-integration/images/internal/healthserver"
	"github.com/deckhouse/secrets-store-integration/images/internal/kubeclient"
	"github.com/deckhouse/secrets-store-integration/images/internal/params"
	"github.com/deckhouse/secrets-store-integration/images/internal/storepolicy"
	"github.com/deckhouse/secrets-store-integration/images/webhook/internal/admission"
	"github.com/deckhouse/secrets-store-integration/images/webhook/internal/certs"
	"github.com/deckhouse/secrets-store-integration/images/webhook/internal/entrypoint"
	"github.com/deckhouse/secrets-store-integration/images/webhook/internal/metrics"
	"github.com/deckhouse/secrets-store-integration/images/webhook/internal/mutate"
)

// webhookTimeout is the timeoutSeconds of the registration: the API server
// gives up on the webhook after it.
const webhookTimeout = 10 * time.Second

type options struct {
	listen, metricsListen string
	certFile, keyFile     string
	kubeconfig            string
	kubeQPS               float64
	kubeBurst             int
	injector              mutate.Options
	pullPolicy            string
	tokenExpiration       time.Duration
	defaults              params.Defaults
	policy                storepolicy.Policy
	defaultPlatform       string
	registryCAFile        string
	registryTimeout       time.Duration
	cacheSize             int
	cacheTTL              time.Duration
	logLevel              string
	containerd            mutate.Containerd
	containerdNodeLabel   string
}

func main() {
	var o options
	flag.StringVar(&o.listen, "listen", ":8443", "HTTPS address of /mutate and /validate-secretsstoreimport")
	flag.StringVar(&o.metricsListen, "metrics-listen", ":8080", "HTTP address of /metrics, /healthz and /readyz")
	flag.StringVar(&o.certFile, "tls-cert-file", "", "serving certificate (PEM); re-read when it changes")
	flag.StringVar(&o.keyFile, "tls-key-file", "", "serving certificate's key (PEM); re-read when it changes")
	flag.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file; empty means the in-cluster configuration")
	flag.Float64Var(&o.kubeQPS, "kube-api-qps", 100, "API requests per second (reads of service accounts and pull secrets on image cache misses)")
	flag.IntVar(&o.kubeBurst, "kube-api-burst", 200, "API requests allowed in a burst above --kube-api-qps")
	flag.StringVar(&o.injector.InjectorImage, "injector-image", "", "image of the env injector (required)")
	flag.StringVar(&o.injector.InjectorBinary, "injector-binary", "/env-injector", "path of the env injector in its image")
	flag.StringVar(&o.pullPolicy, "injector-pull-policy", "IfNotPresent", "imagePullPolicy of the injector's init container: Always, IfNotPresent or Never")
	flag.StringVar(&o.injector.TokenAudience, "token-audience", params.DefaultAudience, "audience of the service-account token the injector logs in with")
	flag.DurationVar(&o.tokenExpiration, "token-expiration", 10*time.Minute, "lifetime of that token (at least 10m, the API server's minimum)")
	o.defaults.AddFlags(flag.CommandLine)
	flag.StringVar(&o.defaultPlatform, "default-platform", "linux/amd64", "platform of image lookups where a pod's nodeSelector names none")
	flag.StringVar(&o.registryCAFile, "registry-ca-file", "", "CA bundle (PEM) trusted for registries besides the system roots")
	flag.DurationVar(&o.registryTimeout, "registry-timeout", 5*time.Second, "bound of one image config lookup, pull secrets included; below the webhook's 10s timeout")
	flag.IntVar(&o.cacheSize, "image-cache-size", 1000, "image configs kept; 0 turns the cache off")
	flag.DurationVar(&o.cacheTTL, "image-cache-ttl", 10*time.Minute, "how long an image config is kept: a moved tag is seen after at most this long")
	flag.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	flag.BoolVar(&o.containerd.Enabled, "containerd-delivery", false, "accept pods of containerd delivery (the module runs the NRI plugin)")
	flag.StringVar(&o.containerdNodeLabel, "containerd-node-label", "secrets-store.deckhouse.io/containerd-delivery=enabled",
		"label (key=value) of the nodes where containerd's NRI is set up and the plugin runs; pods of containerd delivery get it as a nodeSelector")
	flag.StringVar(&o.containerd.PluginName, "nri-plugin-name", "secrets-store", "the NRI plugin's name (its --plugin-name), required by pods of containerd delivery")
	o.policy.AddFlags(flag.CommandLine)
	buildinfo.AddFlag(flag.CommandLine, "webhook")
	flag.Parse()
	o.policy.DefaultAddress = o.defaults.Address
	daemon.Main("webhook", o.logLevel, func(ctx context.Context, log *slog.Logger) error { return run(ctx, o, log) })
}

// check validates the flags and fills what derives from them.
func (o *options) check() error {
	var errs []error
	if o.certFile == "" || o.keyFile == "" {
		errs = append(errs, errors.New("--tls-cert-file and --tls-key-file are required"))
	}
	if o.injector.InjectorImage == "" {
		errs = append(errs, errors.New("--injector-image is required"))
	}
	switch p := corev1.PullPolicy(o.pullPolicy); p {
	case corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
		o.injector.InjectorPullPolicy = p
	default:
		errs = append(errs, fmt.Errorf("--injector-pull-policy %q: want Always, IfNotPresent or Never", o.pullPolicy))
	}
	if o.tokenExpiration < 10*time.Minute {
		errs = append(errs, fmt.Errorf("--token-expiration %s: the API server issues projected tokens for 10m at least", o.tokenExpiration))
	}
	o.injector.TokenExpirationSeconds = int64(o.tokenExpiration / time.Second)
	if o.registryTimeout <= 0 || o.registryTimeout >= webhookTimeout {
		errs = append(errs, fmt.Errorf("--registry-timeout %s: want more than 0 and less than the webhook's %s, so that a refusal says why", o.registryTimeout, webhookTimeout))
	}
	var ok bool
	o.containerd.NodeLabel, o.containerd.NodeLabelValue, ok = strings.Cut(o.containerdNodeLabel, "=")
	if !ok || o.containerd.NodeLabel == "" {
		errs = append(errs, fmt.Errorf("--containerd-node-label %q: want key=value", o.containerdNodeLabel))
	}
	// The injector gets the CA inline: the file is not in the app's pod.
	if err := o.defaults.LoadCA(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func run(ctx context.Context, o options, log *slog.Logger) error {
	if err := o.check(); err != nil {
		return err
	}
	platform, err := v1.ParsePlatform(o.defaultPlatform)
	if err != nil {
		return fmt.Errorf("--default-platform: %w", err)
	}
	// Each image cache miss reads a service account and its pull secrets:
	// a burst of pod creates must not queue behind client-go's default of
	// 5 requests a second, each waiting review holding an API server request.
	config, err := kubeclient.Config(kubeclient.Options{
		Kubeconfig: o.kubeconfig, Component: "webhook", QPS: float32(o.kubeQPS), Burst: o.kubeBurst})
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		return fmt.Errorf("make kubernetes client: %w", err)
	}
	transport, err := entrypoint.NewTransport(o.registryCAFile)
	if err != nil {
		return err
	}

	m := metrics.New()
	tlsCerts := certs.New(o.certFile, o.keyFile, log, m.CertificateLoaded)
	handler := &admission.Handler{
		Defaults:   o.defaults,
		Options:    o.injector,
		Containerd: o.containerd,
		Policy:     o.policy,
		Images: entrypoint.New(entrypoint.Config{
			Client: client, Transport: transport, DefaultPlatform: *platform, Timeout: o.registryTimeout,
			CacheSize: o.cacheSize, CacheTTL: o.cacheTTL, Observer: m,
		}),
		Metrics: m,
		Log:     log,
	}
	mux := http.NewServeMux()
	mux.Handle("/mutate", handler)
	mux.Handle(admission.ImportPath, &admission.ImportHandler{Client: client, Policy: o.policy, Log: log})
	srv := &http.Server{
		Handler:           mux,
		TLSConfig:         &tls.Config{GetCertificate: tlsCerts.GetCertificate, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
		// Past the API server's timeout nobody reads the answer.
		ReadTimeout: 2 * webhookTimeout, WriteTimeout: 2 * webhookTimeout, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.listen, err)
	}

	errc := make(chan error, 2)
	go func() {
		errc <- healthserver.Serve(ctx, healthserver.Config{
			Addr: o.metricsListen, Gatherer: m.Registry, Namespace: metrics.Namespace, Log: log,
			Ready: func(context.Context) error { return tlsCerts.Ready() },
		})
	}()
	go func() {
		if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("serve webhook: %w", err)
		}
	}()
	log.Info("serving webhook", "addr", ln.Addr().String(), "injector_image", o.injector.InjectorImage,
		"store_addr", o.defaults.Address, "default_platform", platform.String(), "registry_timeout", o.registryTimeout.String(),
		"image_cache_size", o.cacheSize, "image_cache_ttl", o.cacheTTL.String(), "containerd_delivery", o.containerd.Enabled)

	select {
	case <-ctx.Done():
		log.Info("stopping")
	case err := <-errc:
		_ = srv.Close()
		return err
	}
	// Answer the reviews in flight; the API server retries nothing else.
	shutdown, cancel := context.WithTimeout(context.Background(), webhookTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("stop webhook: %w", err)
	}
	return nil
}
