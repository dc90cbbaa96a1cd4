// Command vault-provider is the Vault provider of the secrets-store CSI
// driver: a CSIDriverProvider gRPC server on a unix socket that the driver
// (ours or upstream) calls to turn a pod's identity into files of secrets.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	pb "sigs.k8s.io/secrets-store-csi-driver/provider/v1alpha1"

	"github.com/deckhouse/secrets-store-integration/images/internal/daemon"
	"github.com/deckhouse/secrets-store-integration/images/internal/keyfile"
	"github.com/deckhouse/secrets-store-integration/images/internal/params"
	"github.com/deckhouse/secrets-store-integration/images/internal/store"
	"github.com/deckhouse/secrets-store-integration/images/internal/storepolicy"
	"github.com/deckhouse/secrets-store-integration/images/vault-provider/internal/provider"
)

type options struct {
	endpoint       string
	defaults       params.Defaults
	policy         storepolicy.Policy
	readCacheTTL   time.Duration
	storeTimeout   time.Duration
	metricsAddr    string
	versionKeyFile string
	logLevel       string
}

func main() {
	var o options
	flag.StringVar(&o.endpoint, "endpoint", "/var/run/secrets-store-csi-providers/vault.sock", "unix socket the driver connects to")
	o.defaults.AddFlags(flag.CommandLine)
	flag.DurationVar(&o.readCacheTTL, "read-cache-ttl", 2*time.Minute, "how long pods of one identity share a read of the same object; 0 disables")
	flag.DurationVar(&o.storeTimeout, "store-timeout", 15*time.Second, "timeout of one request to the store")
	flag.StringVar(&o.metricsAddr, "metrics-addr", ":8098", "HTTP address of /metrics and /healthz; empty disables")
	flag.StringVar(&o.versionKeyFile, "version-key-file", "", "file with the hex HMAC key of object versions; default: random at start")
	flag.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	o.policy.AddFlags(flag.CommandLine)
	flag.Parse()
	o.policy.DefaultAddress = o.defaults.Address
	daemon.Main("vault-provider", o.logLevel, func(ctx context.Context, log *slog.Logger) error { return run(ctx, o, log) })
}

func run(ctx context.Context, o options, log *slog.Logger) error {
	key, err := versionKey(o.versionKeyFile)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := provider.NewMetrics(reg)
	st := store.New(store.Options{RequestTimeout: o.storeTimeout, Observer: metrics})
	srv, err := provider.NewServer(provider.Config{
		Defaults: o.defaults, Policy: o.policy, ReadCacheTTL: o.readCacheTTL, VersionKey: key,
		Store: st, Metrics: metrics, Log: log,
	})
	if err != nil {
		return err
	}

	lis, err := listen(o.endpoint)
	if err != nil {
		return err
	}
	g := grpc.NewServer()
	pb.RegisterCSIDriverProviderServer(g, srv)

	var metricsSrv *http.Server
	if o.metricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte("ok\n"))
		})
		ml, err := net.Listen("tcp", o.metricsAddr)
		if err != nil {
			lis.Close()
			return fmt.Errorf("listen for metrics on %s: %w", o.metricsAddr, err)
		}
		metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := metricsSrv.Serve(ml); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics server failed", "error", err.Error())
			}
		}()
		// The address as bound (":0" picks a port), for tests and humans.
		log.Info("serving metrics", "addr", ml.Addr().String())
	}

	errc := make(chan error, 1)
	go func() { errc <- g.Serve(lis) }()
	log.Info("serving provider", "endpoint", o.endpoint, "defaultAddress", o.defaults.Address,
		"defaultAuthMount", o.defaults.AuthMount, "readCacheTTL", o.readCacheTTL.String())

	select {
	case <-ctx.Done():
		log.Info("stopping on signal")
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", o.endpoint, err)
	}
	// Let running mounts finish, but not forever: kubelet retries.
	done := make(chan struct{})
	go func() { g.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		g.Stop()
	}
	if metricsSrv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = metricsSrv.Shutdown(sctx)
	}
	_ = os.Remove(o.endpoint)
	// Tokens of this process would outlive it in the store; those that
	// read a lease stay, since files still hold what the lease grants.
	rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := st.Close(rctx); err != nil {
		log.Warn("revoke store tokens at shutdown", "error", err.Error())
	}
	return nil
}

// listen opens the unix socket, replacing a stale one left by a previous
// run, readable and writable by its owner only: the driver runs as root
// next to us and nobody else may ask for secrets.
func listen(endpoint string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(endpoint), 0o750); err != nil {
		return nil, fmt.Errorf("create socket folder: %w", err)
	}
	if err := os.Remove(endpoint); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove stale socket %s: %w", endpoint, err)
	}
	// Create the socket without group or other access, so there is no
	// window before the chmod below.
	old := syscall.Umask(0o077)
	lis, err := net.Listen("unix", endpoint)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", endpoint, err)
	}
	if err := os.Chmod(endpoint, 0o600); err != nil {
		lis.Close()
		return nil, fmt.Errorf("restrict socket %s: %w", endpoint, err)
	}
	return lis, nil
}

// versionKey reads the HMAC key from a file (so versions survive a restart
// and do not make the driver rewrite every file), or makes a random one.
func versionKey(path string) ([]byte, error) {
	if path == "" {
		return provider.NewVersionKey()
	}
	return keyfile.Read(path)
}
