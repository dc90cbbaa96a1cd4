// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package testenv

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/deckhouse/secrets-store-integration/test/supervisor"
)

// ServiceAccountIssuer is the issuer kube-apiserver writes into
// service-account tokens.
const ServiceAccountIssuer = "https://kubernetes.default.svc.cluster.local"

type apiServer struct {
	proc       *supervisor.Process
	url        string
	config     *rest.Config
	kubeconfig string
}

// startAPIServer runs kube-apiserver with TLS, client-certificate auth for the
// admin, RBAC, and service-account token signing, and waits for /readyz.
func startAPIServer(ctx context.Context, bin, dir, etcdURL string, ca *authority, extraArgs ...string) (*apiServer, error) {
	ports, err := supervisor.FreePorts(1)
	if err != nil {
		return nil, err
	}
	serving, err := ca.serving("kube-apiserver")
	if err != nil {
		return nil, err
	}
	certPath, keyPath, err := serving.write(dir, "apiserver")
	if err != nil {
		return nil, err
	}
	admin, err := ca.client("testenv-admin", "system:masters")
	if err != nil {
		return nil, err
	}
	adminCert, adminKey, err := admin.write(dir, "admin")
	if err != nil {
		return nil, err
	}
	caPath := filepath.Join(dir, "ca.crt")
	saKey, saPub, err := serviceAccountKeys(dir)
	if err != nil {
		return nil, err
	}

	args := []string{
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		// No kubernetes Service endpoints: a loopback address may not be one.
		"--endpoint-reconciler-type=none",
		"--secure-port=" + strconv.Itoa(ports[0]),
		"--cert-dir=" + filepath.Join(dir, "apiserver-certs"),
		"--tls-cert-file=" + certPath,
		"--tls-private-key-file=" + keyPath,
		"--client-ca-file=" + caPath,
		"--etcd-servers=" + etcdURL,
		"--authorization-mode=RBAC",
		"--service-account-issuer=" + ServiceAccountIssuer,
		"--service-account-key-file=" + saPub,
		"--service-account-signing-key-file=" + saKey,
		"--service-cluster-ip-range=10.96.0.0/24",
		"--allow-privileged=true",
		"--enable-priority-and-fairness=false",
		"--profiling=false",
		"--v=0",
	}
	proc, err := startServer("kube-apiserver", dir, bin, append(args, extraArgs...)...)
	if err != nil {
		return nil, err
	}
	s := &apiServer{proc: proc, url: fmt.Sprintf("https://127.0.0.1:%d", ports[0])}
	s.config = &rest.Config{
		Host: s.url,
		TLSClientConfig: rest.TLSClientConfig{
			CAFile:   caPath,
			CertFile: adminCert,
			KeyFile:  adminKey,
		},
		QPS:   100,
		Burst: 200,
	}
	client, err := rest.HTTPClientFor(s.config)
	if err != nil {
		_ = proc.Kill()
		return nil, fmt.Errorf("make kube-apiserver client: %w", err)
	}
	// /readyz turns 200 once RBAC bootstrap roles and the default
	// namespaces exist, which is what tests rely on.
	if err := proc.Poll(ctx, "kube-apiserver not ready", func(ctx context.Context) error {
		return httpOK(ctx, client, s.url+"/readyz", "ok")
	}); err != nil {
		_ = proc.Kill()
		return nil, err
	}
	s.kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := writeKubeconfig(s.kubeconfig, s.url, caPath, adminCert, adminKey); err != nil {
		_ = proc.Kill()
		return nil, err
	}
	return s, nil
}

func writeKubeconfig(path, server, caPath, certPath, keyPath string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["testenv"] = &clientcmdapi.Cluster{Server: server, CertificateAuthority: caPath}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificate: certPath, ClientKey: keyPath}
	cfg.Contexts["testenv"] = &clientcmdapi.Context{Cluster: "testenv", AuthInfo: "admin"}
	cfg.CurrentContext = "testenv"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	return nil
}
