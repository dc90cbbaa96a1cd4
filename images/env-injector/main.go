// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Command env-injector puts secrets from the store into an application's
// environment, in memory only, and then becomes the application.
//
// The webhook adds an init container that runs
//
//	env-injector --self-copy DIR
//
// to copy this static binary into a memory-backed volume, and rewrites each
// container to start as
//
//	DIR/env-injector -- ORIGINAL-ENTRYPOINT ARGS...
//
// with its settings in VAULT_* variables (see internal/injection). The
// injector logs in with the pod's service-account token, resolves every
// secrets-store: reference, removes its own variables, and execs the
// application (or, in the watch modes, runs it as a child).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/deckhouse/secrets-store-integration/images/env-injector/internal/supervise"
	"github.com/deckhouse/secrets-store-integration/images/env-injector/internal/watch"
	"github.com/deckhouse/secrets-store-integration/images/internal/buildinfo"
	"github.com/deckhouse/secrets-store-integration/images/internal/environ"
	"github.com/deckhouse/secrets-store-integration/images/internal/injection"
	"github.com/deckhouse/secrets-store-integration/images/internal/store"
)

// Exit codes of the injector itself; otherwise it exits as the application.
const (
	exitFailed = 1  // configuration or store: nothing was started
	exitUsage  = 2  // wrong command line
	exitStale  = 75 // a watch mode ended the application (EX_TEMPFAIL): restart me
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	// Only as the whole command line: the webhook starts applications
	// after "--", so an application's own --version is never this.
	if len(args) == 1 && args[0] == "--version" {
		fmt.Println(buildinfo.Line("env-injector"))
		return 0
	}
	if len(args) > 0 && args[0] == injection.SelfCopyFlag {
		if len(args) != 2 {
			fmt.Fprintf(stderr, "env-injector: usage: env-injector %s DIR\n", injection.SelfCopyFlag)
			return exitUsage
		}
		if err := selfCopy(args[1]); err != nil {
			fmt.Fprintf(stderr, "env-injector: %v\n", err)
			return exitFailed
		}
		return 0
	}
	probe := len(args) > 0 && args[0] == injection.ProbeFlag
	if probe {
		args = args[1:]
	}
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(stderr, "env-injector: usage: env-injector [--] COMMAND [ARGS...] (or "+injection.SelfCopyFlag+" DIR)")
		return exitUsage
	}

	cfg, err := injection.FromEnv(os.LookupEnv)
	if err != nil {
		return fail(stderr, cfg.TerminationLog, fmt.Errorf("configuration: %w", err))
	}
	if probe {
		// The container's termination message is the application's, not
		// a probe's.
		cfg.TerminationLog = ""
	}
	log := newLogger(stderr, cfg)
	in := &injector{cfg: cfg, log: log, store: store.New(store.Options{RequestTimeout: cfg.ClientTimeout, TokenMaxReuse: -1})}

	ctx, cancel := context.WithTimeout(context.Background(), cfg.ClientTimeout)
	sess, res, err := in.build(ctx)
	cancel()
	if err != nil {
		return fail(stderr, cfg.TerminationLog, err)
	}
	log.Info("environment ready", "version", buildinfo.Version(), "variables", len(res.Env), "leases", len(res.Leases), "skipped", res.Skipped, "mode", cfg.Restart)

	if probe {
		return in.probe(sess, res, args, stderr)
	}
	mode := cfg.Restart
	if mode == injection.RestartWatchForLease && len(res.Leases) == 0 {
		log.Info("no secret has a lease; nothing to watch", "mode", mode)
		mode = injection.RestartNone
	}
	if mode == injection.RestartNone {
		return in.exec(sess, res, args, stderr)
	}
	return in.supervise(sess, res, args, mode, stderr)
}

type injector struct {
	cfg   injection.Config
	log   *slog.Logger
	store *store.Store
}

// session logs in as the pod: the token file is read each time, since
// kubelet rotates it.
func (in *injector) session() (*store.Session, error) {
	raw, err := os.ReadFile(in.cfg.TokenPath)
	if err != nil {
		return nil, fmt.Errorf("read the service-account token: %w", err)
	}
	jwt := strings.TrimSpace(string(raw))
	ns, sa, err := store.ServiceAccountOf(jwt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", in.cfg.TokenPath, err)
	}
	sess, err := in.store.Session(in.cfg.StoreConfig(), store.Login{
		AuthMount: in.cfg.AuthPath, Role: in.cfg.Role, JWT: jwt, PodNamespace: ns, ServiceAccount: sa,
	})
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", in.cfg.Address, err)
	}
	return sess, nil
}

func (in *injector) build(ctx context.Context) (*store.Session, environ.Result, error) {
	sess, err := in.session()
	if err != nil {
		return nil, environ.Result{}, err
	}
	if err := sess.LogIn(ctx); err != nil {
		return nil, environ.Result{}, fmt.Errorf("store %s: %w", in.cfg.Address, err)
	}
	res, err := environ.Build(ctx, sess, os.Environ(), environ.Options{
		EnvFromPath: in.cfg.EnvFromPath, IgnoreMissing: in.cfg.IgnoreMissing, Log: in.log, Token: sess.Token,
	})
	if err != nil {
		in.revoke(sess)
		return nil, environ.Result{}, err
	}
	return sess, res, nil
}

// exec replaces the injector with the application, which becomes PID 1.
// The store token goes first, unless leases read with it must live on:
// the store revokes them with the token.
func (in *injector) exec(sess *store.Session, res environ.Result, args []string, stderr io.Writer) int {
	switch {
	case res.TokenHanded:
		// The application holds the token now; revoking it would leave
		// the application with a dead one.
		in.log.Info("keeping the store token: the application took it (secrets-store:login); it ends with its TTL")
	case hasLease(res.Leases):
		in.log.Warn("keeping the store token: revoking it would revoke the leases of dynamic secrets; they end with the token's TTL (use restart-on-secret-change: watch-for-lease to renew them)")
	default:
		in.revoke(sess)
	}
	path, err := supervise.LookPath(args[0], res.Env)
	if err != nil {
		return fail(stderr, in.cfg.TerminationLog, err)
	}
	err = syscall.Exec(path, args, res.Env)
	return fail(stderr, in.cfg.TerminationLog, fmt.Errorf("exec %s: %w", path, err))
}

// probe runs an exec probe's command as a child and then revokes the
// store token, whatever was read: the leases of dynamic secrets end with
// it. Exec would have to keep the token for the leases to stay valid, and
// a probe runs every few seconds, each run a new token and new leases
// alive for their TTL. The probe's command gets valid values while it
// runs; watch modes do not apply to probes.
func (in *injector) probe(sess *store.Session, res environ.Result, args []string, stderr io.Writer) int {
	child, err := supervise.Start(args, res.Env)
	if err != nil {
		in.revoke(sess)
		return fail(stderr, in.cfg.TerminationLog, err)
	}
	<-child.Done()
	in.revoke(sess)
	return child.ExitCode()
}

// supervise runs the application as a child and ends it when its secrets
// go stale; the injector then exits non-zero so that the kubelet restarts
// the container and a fresh injector reads the secrets again.
func (in *injector) supervise(sess *store.Session, res environ.Result, args []string, mode string, stderr io.Writer) int {
	child, err := supervise.Start(args, res.Env)
	if err != nil {
		in.revoke(sess)
		return fail(stderr, in.cfg.TerminationLog, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stale := make(chan error, 1)
	go func() {
		if mode == injection.RestartWatchForLease {
			stale <- watch.Leases(ctx, sess, res.Leases, time.Now, in.log)
		} else {
			stale <- watch.Data(ctx, in.cfg.PollInterval, res.Digest, in.rebuild, in.log)
		}
	}()
	select {
	case <-child.Done():
		cancel()
		in.revoke(sess)
		return child.ExitCode()
	case err := <-stale:
		var s *watch.Stale
		if !errors.As(err, &s) {
			// The watcher has nothing to watch; the application runs on.
			<-child.Done()
			in.revoke(sess)
			return child.ExitCode()
		}
		in.log.Warn("ending the application", "reason", s.Reason, "grace", in.cfg.GracePeriod.String())
		writeTerminationLog(in.cfg.TerminationLog, s.Reason)
		child.Terminate(in.cfg.GracePeriod)
		in.revoke(sess)
		fmt.Fprintf(stderr, "env-injector: %s\n", s.Reason)
		return exitStale
	}
}

// rebuild reads the secrets again with a new session (a fresh token file)
// and returns the digest of the values.
func (in *injector) rebuild(ctx context.Context) ([32]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, in.cfg.ClientTimeout)
	defer cancel()
	sess, err := in.session()
	if err != nil {
		return [32]byte{}, err
	}
	res, err := environ.Build(ctx, sess, os.Environ(), environ.Options{
		EnvFromPath: in.cfg.EnvFromPath, IgnoreMissing: in.cfg.IgnoreMissing, Log: in.log, Token: sess.Token,
	})
	if err != nil {
		return [32]byte{}, err
	}
	return res.Digest, nil
}

func (in *injector) revoke(sess *store.Session) {
	ctx, cancel := context.WithTimeout(context.Background(), in.cfg.ClientTimeout)
	defer cancel()
	if err := sess.RevokeToken(ctx); err != nil {
		// Not fatal: the token expires with its TTL.
		in.log.Warn("revoke the store token", "error", err.Error())
		return
	}
	in.log.Debug("store token revoked")
}

func hasLease(leases []environ.Lease) bool {
	for _, l := range leases {
		if l.ID != "" {
			return true
		}
	}
	return false
}

// fail reports err on one line to stderr and the termination log, which
// kubectl describe shows; err never holds a value.
func fail(stderr io.Writer, terminationLog string, err error) int {
	msg := strings.ReplaceAll(err.Error(), "\n", "; ")
	fmt.Fprintf(stderr, "env-injector: %s\n", msg)
	writeTerminationLog(terminationLog, msg)
	return exitFailed
}

func writeTerminationLog(path, msg string) {
	// Outside Kubernetes the file may not exist; the line on stderr is
	// the report then.
	_ = os.WriteFile(path, []byte(msg+"\n"), 0o644)
}

func newLogger(w io.Writer, cfg injection.Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // validated by FromEnv
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.JSONLog {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(h).With("component", "env-injector")
}

// selfCopy copies the running binary into dir, atomically, so that a
// container never starts a half-written injector.
func selfCopy(dir string) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own binary: %w", err)
	}
	src, err := os.Open(self)
	if err != nil {
		return fmt.Errorf("open own binary: %w", err)
	}
	defer src.Close()
	tmp, err := os.CreateTemp(dir, ".env-injector-*")
	if err != nil {
		return fmt.Errorf("copy into %s: %w", dir, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, src); err != nil {
		tmp.Close()
		return fmt.Errorf("copy into %s: %w", dir, err)
	}
	if err := tmp.Chmod(0o555); err != nil {
		tmp.Close()
		return fmt.Errorf("copy into %s: %w", dir, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("copy into %s: %w", dir, err)
	}
	dst := filepath.Join(dir, filepath.Base(injection.InjectorPath))
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("copy into %s: %w", dir, err)
	}
	return nil
}
