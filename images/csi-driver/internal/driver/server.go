package driver

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
)

// Listen opens the unix socket of endpoint ("unix:///csi/csi.sock" or a
// plain path), replacing a stale socket left by a previous run.
func Listen(endpoint string) (net.Listener, error) {
	path := endpoint
	if u, err := url.Parse(endpoint); err == nil && u.Scheme != "" {
		if u.Scheme != "unix" {
			return nil, fmt.Errorf("endpoint %q: only unix sockets are supported", endpoint)
		}
		path = u.Path
	}
	if path == "" {
		return nil, fmt.Errorf("endpoint %q: no socket path", endpoint)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("make socket folder for %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("remove stale socket %s: %w", path, err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	return ln, nil
}

// NewServer makes the gRPC server with the Identity and Node services.
func NewServer(identity csi.IdentityServer, node csi.NodeServer) *grpc.Server {
	srv := grpc.NewServer()
	csi.RegisterIdentityServer(srv, identity)
	csi.RegisterNodeServer(srv, node)
	return srv
}
