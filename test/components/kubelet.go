// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package components

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

const (
	// Audience is the audience of the tokens kubelet requests for the
	// store (the CSIDriver's tokenRequests).
	Audience = "vault"
	// tokenTTL is the lifetime of those tokens.
	tokenTTL = 10 * time.Minute
	// callTimeout bounds one NodePublishVolume or NodeUnpublishVolume.
	callTimeout = time.Minute
)

// Pod is what kubelet knows of a pod with a secrets-store volume.
type Pod struct {
	Name, Namespace, UID, ServiceAccount string
	// FSGroup is the pod's fsGroup ("" for none), sent as the volume
	// capability's mount group.
	FSGroup string
}

// Volume is one ephemeral inline volume: kubelet's target folder for it.
type Volume struct {
	ID, Target string
}

// Kubelet plays kubelet's part against the driver's socket.
type Kubelet struct {
	// Node is the driver's Node service.
	Node csi.NodeClient

	// Audiences are those of the CSIDriver's tokenRequests: kubelet sends
	// a token for each. Nil means Audience only.
	Audiences []string

	env  *testenv.Env
	root string
	conn *grpc.ClientConn
}

// NewKubelet connects to the driver at socket; volume targets go under
// root, laid out as kubelet's pods folder. The connection comes up when
// first used and survives driver restarts.
func NewKubelet(env *testenv.Env, socket, root string) (*Kubelet, error) {
	conn, err := grpc.NewClient("unix://"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("dial driver at %s: %w", socket, err)
	}
	return &Kubelet{Node: csi.NewNodeClient(conn), env: env, root: root, conn: conn}, nil
}

// Close closes the connection to the driver.
func (k *Kubelet) Close() error { return k.conn.Close() }

// NewVolume makes the folder kubelet makes for a volume of pod dir name:
// pods/<name>/volumes/kubernetes.io~csi/secrets, with the target "mount"
// in it left to the driver.
func (k *Kubelet) NewVolume(name string) (Volume, error) {
	dir := filepath.Join(k.root, "pods", name, "volumes", "kubernetes.io~csi", "secrets")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return Volume{}, fmt.Errorf("make volume folder: %w", err)
	}
	return Volume{ID: "csi-" + name, Target: filepath.Join(dir, "mount")}, nil
}

// PublishRequest is the NodePublishVolume call kubelet makes for an
// ephemeral inline volume of p importing SecretsStoreImport ssi, with a
// fresh token from the TokenRequest API.
func (k *Kubelet) PublishRequest(ctx context.Context, v Volume, p Pod, ssi string) (*csi.NodePublishVolumeRequest, error) {
	attrs, err := VolumeContext(ctx, k.env, p, k.Audiences...)
	if err != nil {
		return nil, err
	}
	attrs["secretsStoreImport"] = ssi
	// The csi volume's readOnly: the driver refuses a writable volume.
	return NodePublishRequest(v, p, true, attrs), nil
}

// NodePublishRequest is kubelet's NodePublishVolume call for ephemeral
// inline volume v of pod p with volume context attrs (VolumeContext plus
// the volume's own attributes).
func NodePublishRequest(v Volume, p Pod, readonly bool, attrs map[string]string) *csi.NodePublishVolumeRequest {
	return &csi.NodePublishVolumeRequest{
		VolumeId:   v.ID,
		TargetPath: v.Target,
		Readonly:   readonly,
		VolumeCapability: &csi.VolumeCapability{
			AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{VolumeMountGroup: p.FSGroup}},
			AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
		},
		VolumeContext: attrs,
	}
}

// Publish makes the request for p and sends it. A driver error comes back
// as the driver's gRPC status, unwrapped, for its code and message.
func (k *Kubelet) Publish(ctx context.Context, v Volume, p Pod, ssi string) error {
	req, err := k.PublishRequest(ctx, v, p, ssi)
	if err != nil {
		return err
	}
	return k.Send(ctx, req)
}

// Send makes a prepared NodePublishVolume call; the benchmark times only
// this, as kubelet requests tokens before it.
func (k *Kubelet) Send(ctx context.Context, req *csi.NodePublishVolumeRequest) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	_, err := k.Node.NodePublishVolume(ctx, req)
	return err
}

// Unpublish calls NodeUnpublishVolume for v, as kubelet does when the pod goes.
func (k *Kubelet) Unpublish(ctx context.Context, v Volume) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	_, err := k.Node.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: v.ID, TargetPath: v.Target})
	return err
}

// VolumeContext is what kubelet adds to the attributes of an ephemeral inline
// volume of p: the pod (podInfoOnMount), the ephemeral flag and the tokens
// (tokenRequests, one token per audience; none given means Audience). The
// driver passes the same keys on to the provider.
func VolumeContext(ctx context.Context, env *testenv.Env, p Pod, audiences ...string) (map[string]string, error) {
	tokens, err := TokenRequests(ctx, env, p.Namespace, p.ServiceAccount, audiences...)
	if err != nil {
		return nil, err
	}
	return map[string]string{
		"csi.storage.k8s.io/pod.name":              p.Name,
		"csi.storage.k8s.io/pod.namespace":         p.Namespace,
		"csi.storage.k8s.io/pod.uid":               p.UID,
		"csi.storage.k8s.io/serviceAccount.name":   p.ServiceAccount,
		"csi.storage.k8s.io/ephemeral":             "true",
		"csi.storage.k8s.io/serviceAccount.tokens": tokens,
	}, nil
}

// TokenRequests is kubelet's csi.storage.k8s.io/serviceAccount.tokens value:
// a token of ServiceAccount ns/sa for each audience (none given: Audience),
// from the TokenRequest API, with its expiry.
func TokenRequests(ctx context.Context, env *testenv.Env, ns, sa string, audiences ...string) (string, error) {
	if len(audiences) == 0 {
		audiences = []string{Audience}
	}
	tokens := map[string]any{}
	for _, aud := range audiences {
		jwt, err := env.ServiceAccountToken(ctx, ns, sa, aud, tokenTTL)
		if err != nil {
			return "", err
		}
		tokens[aud] = map[string]string{"token": jwt, "expirationTimestamp": time.Now().Add(tokenTTL).UTC().Format(time.RFC3339)}
	}
	b, err := json.Marshal(tokens)
	if err != nil {
		return "", fmt.Errorf("encode tokens of %s/%s: %w", ns, sa, err)
	}
	return string(b), nil
}

// ApplyImport creates or replaces SecretsStoreImport ns/name with spec.
func ApplyImport(ctx context.Context, env *testenv.Env, ns, name string, spec map[string]any) error {
	_, err := env.Apply(ctx, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "deckhouse.io/v1alpha1",
		"kind":       "SecretsStoreImport",
		"metadata":   map[string]any{"namespace": ns, "name": name},
		"spec":       spec,
	}})
	return err
}
