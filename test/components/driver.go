package components

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// DriverName is the CSI driver name the module registers.
const DriverName = "secrets-store.csi.deckhouse.io"

// DriverConfig is how the CSI node driver runs.
type DriverConfig struct {
	// Binary is the csi-driver executable (Binaries.Driver).
	Binary string
	// Socket is the unix socket kubelet calls.
	Socket string
	// Kubeconfig is the driver's access to the API (testenv's admin).
	Kubeconfig string
	// ProviderDir and Provider locate the provider's socket:
	// <ProviderDir>/<Provider>.sock.
	ProviderDir, Provider string
	// NodeID is the node's name; default "node-1".
	NodeID string
	// RotationInterval is the least time between two fetches of a mounted
	// volume; zero keeps the driver's default.
	RotationInterval time.Duration
	// TmpfsSize and TmpfsInodes are each volume's tmpfs limits (a
	// quantity such as "256Ki", a count); empty and zero keep the
	// driver's defaults.
	TmpfsSize   string
	TmpfsInodes int64
	// Log receives a copy of each log line; nil drops the copy.
	Log io.Writer
}

// StartDriver runs the CSI node driver, with its metrics on a free loopback
// port, and returns once it answers GetPluginInfo.
func StartDriver(ctx context.Context, c DriverConfig) (*Process, error) {
	if c.NodeID == "" {
		c.NodeID = "node-1"
	}
	// The driver does not log the address it bound, so pick a free port.
	metrics, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{
		"--endpoint", "unix://" + c.Socket, "--nodeid", c.NodeID, "--kubeconfig", c.Kubeconfig,
		"--provider-dir", c.ProviderDir, "--provider", c.Provider, "--metrics-addr", metrics,
	}
	if c.RotationInterval > 0 {
		args = append(args, "--rotation-interval", c.RotationInterval.String())
	}
	if c.TmpfsSize != "" {
		args = append(args, "--tmpfs-size", c.TmpfsSize)
	}
	if c.TmpfsInodes > 0 {
		args = append(args, "--tmpfs-inodes", strconv.FormatInt(c.TmpfsInodes, 10))
	}
	p := &Process{Name: "csi-driver", Socket: c.Socket, bin: c.Binary, args: args, out: c.Log, metricsAddr: metrics}
	p.ready = func(ctx context.Context, r *run) error { return waitDriver(ctx, r, p) }
	if err := p.Start(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// waitDriver polls GetPluginInfo until the driver answers with its name, as
// kubelet's plugin registration checks it.
func waitDriver(ctx context.Context, r *run, p *Process) error {
	conn, err := grpc.NewClient("unix://"+p.Socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("dial %s: %w", p.Socket, err)
	}
	defer conn.Close()
	identity := csi.NewIdentityClient(conn)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	last := errNotServing
	for {
		callCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		info, err := identity.GetPluginInfo(callCtx, &csi.GetPluginInfoRequest{})
		cancel()
		switch {
		case err != nil:
			last = err
		case info.GetName() != DriverName:
			return fmt.Errorf("driver name %q, want %q", info.GetName(), DriverName)
		default:
			return nil
		}
		select {
		case <-tick.C:
		case <-r.done:
			return p.exitError(r)
		case <-ctx.Done():
			return fmt.Errorf("GetPluginInfo on %s: %w (last error: %v)", p.Socket, ctx.Err(), last)
		}
	}
}

// freeAddr is a loopback address with a port nothing listens on.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free loopback port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
