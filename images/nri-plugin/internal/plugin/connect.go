// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package plugin

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containerd/nri/pkg/api"
	nrilog "github.com/containerd/nri/pkg/log"
	"github.com/containerd/nri/pkg/stub"
)

// Connection says where and as whom the plugin registers with NRI.
type Connection struct {
	Socket string
	// Name and Index make the plugin's NRI name "<Index>-<Name>"; pods
	// name it in the required-plugins annotation by Name.
	Name, Index string
	// Retry is the wait before connecting again after containerd went away
	// or was not there yet.
	Retry time.Duration
	// Dial connects to Socket; nil: a unix socket connection.
	Dial func(socket string) (net.Conn, error)
}

// Server keeps the plugin registered with the runtime.
type Server struct {
	plugin    *Plugin
	conn      Connection
	connected atomic.Bool
}

// NewServer returns the server of p.
func NewServer(p *Plugin, c Connection) *Server {
	if c.Retry <= 0 {
		c.Retry = time.Second
	}
	return &Server{plugin: p, conn: c}
}

// Connected reports whether the plugin is registered now: /readyz.
func (s *Server) Connected(context.Context) error {
	if !s.connected.Load() {
		return fmt.Errorf("not registered with NRI at %s", s.conn.Socket)
	}
	return nil
}

// Run registers the plugin and serves until ctx ends. When containerd goes
// away (a restart, an upgrade) it connects again every Retry: containers
// keep running meanwhile, and creating one fails closed (the webhook's
// required-plugins annotation) until the plugin is back.
func (s *Server) Run(ctx context.Context) error {
	log := s.plugin.cfg.Log
	nrilog.Set(nriLogger{log.With("source", "nri")})
	for {
		err := s.session(ctx)
		s.connected.Store(false)
		s.plugin.metrics.Connected(false)
		if ctx.Err() != nil {
			return nil
		}
		log.Warn("not connected to NRI; retrying", "socket", s.conn.Socket, "error", err.Error(), "retry", s.conn.Retry.String())
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(s.conn.Retry):
		}
	}
}

// session is one connection: register, serve, and return when the
// connection ends.
func (s *Server) session(ctx context.Context) error {
	closed := make(chan struct{})
	var once sync.Once
	opts := []stub.Option{stub.WithSocketPath(s.conn.Socket), stub.WithPluginName(s.conn.Name),
		stub.WithPluginIdx(s.conn.Index), stub.WithOnClose(func() { once.Do(func() { close(closed) }) })}
	if s.conn.Dial != nil {
		opts = append(opts, stub.WithDialer(s.conn.Dial))
	}
	st, err := stub.New(&handler{s}, opts...)
	if err != nil {
		return fmt.Errorf("make the NRI stub: %w", err)
	}
	if err := st.Start(ctx); err != nil {
		return err
	}
	if rt := st.RequestTimeout(); rt > 0 && rt <= s.plugin.cfg.RequestTimeout {
		// Not fatal: each answer still comes a fifth before containerd's
		// deadline, which the request carries.
		s.plugin.cfg.Log.Warn("containerd's NRI plugin_request_timeout is not above --request-timeout: a slow store leaves less time than configured",
			"plugin_request_timeout", rt.String(), "request_timeout", s.plugin.cfg.RequestTimeout.String())
	}
	select {
	case <-ctx.Done():
		st.Stop()
		return ctx.Err()
	case <-closed:
		return fmt.Errorf("containerd closed the connection")
	}
}

// handler is what the stub calls; the stub subscribes the plugin to the
// events whose methods it has.
type handler struct{ s *Server }

// Configure is the runtime's answer to the registration.
func (h *handler) Configure(_ context.Context, _, runtime, version string) (api.EventMask, error) {
	h.s.connected.Store(true)
	h.s.plugin.metrics.Connected(true)
	h.s.plugin.cfg.Log.Info("connected", "socket", h.s.conn.Socket, "runtime", runtime, "runtime_version", version,
		"plugin", h.s.conn.Index+"-"+h.s.conn.Name)
	return api.MustParseEventMask("CreateContainer"), nil
}

// CreateContainer adjusts a container of an opted-in pod.
func (h *handler) CreateContainer(ctx context.Context, pod *api.PodSandbox, ctr *api.Container) (*api.ContainerAdjustment, []*api.ContainerUpdate, error) {
	return h.s.plugin.CreateContainer(ctx, pod, ctr)
}

// nriLogger sends the NRI library's own lines (connection, registration)
// to slog; they hold names and versions, no container data.
type nriLogger struct{ log *slog.Logger }

func (l nriLogger) Debugf(ctx context.Context, format string, args ...any) {
	l.log.DebugContext(ctx, fmt.Sprintf(format, args...))
}

func (l nriLogger) Infof(ctx context.Context, format string, args ...any) {
	// The library's chatter at Info is about registration steps; the
	// plugin logs "connected" itself.
	l.log.DebugContext(ctx, fmt.Sprintf(format, args...))
}

func (l nriLogger) Warnf(ctx context.Context, format string, args ...any) {
	l.log.WarnContext(ctx, fmt.Sprintf(format, args...))
}

func (l nriLogger) Errorf(ctx context.Context, format string, args ...any) {
	l.log.ErrorContext(ctx, fmt.Sprintf(format, args...))
}
