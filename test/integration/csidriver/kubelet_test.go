package csidriver

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// pod is what kubelet knows of a pod with a secrets-store volume.
type pod struct {
	name, namespace, uid, serviceAccount string
	fsGroup                              string
}

// volume is one published volume: kubelet's target folder for it.
type volume struct {
	id, target string
}

func newVolume(name string) volume {
	// kubelet's layout: pods/<uid>/volumes/kubernetes.io~csi/<name>/mount.
	dir := filepath.Join(work, "pods", name, "volumes", "kubernetes.io~csi", "secrets")
	Expect(os.MkdirAll(dir, 0o750)).To(Succeed())
	return volume{id: "csi-" + name, target: filepath.Join(dir, "mount")}
}

// publishRequest is the NodePublishVolume call kubelet makes for an
// ephemeral inline volume of p, with a fresh token from the TokenRequest API.
func publishRequest(ctx context.Context, v volume, p pod, ssi string) *csi.NodePublishVolumeRequest {
	GinkgoHelper()
	token, err := env.ServiceAccountToken(ctx, p.namespace, p.serviceAccount, "vault", 10*time.Minute)
	Expect(err).NotTo(HaveOccurred())
	tokens, err := json.Marshal(map[string]any{"vault": map[string]string{
		"token": token, "expirationTimestamp": time.Now().Add(10 * time.Minute).UTC().Format(time.RFC3339),
	}})
	Expect(err).NotTo(HaveOccurred())
	return &csi.NodePublishVolumeRequest{
		VolumeId:   v.id,
		TargetPath: v.target,
		Readonly:   true,
		VolumeCapability: &csi.VolumeCapability{
			AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{VolumeMountGroup: p.fsGroup}},
			AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
		},
		VolumeContext: map[string]string{
			"csi.storage.k8s.io/pod.name":              p.name,
			"csi.storage.k8s.io/pod.namespace":         p.namespace,
			"csi.storage.k8s.io/pod.uid":               p.uid,
			"csi.storage.k8s.io/serviceAccount.name":   p.serviceAccount,
			"csi.storage.k8s.io/ephemeral":             "true",
			"csi.storage.k8s.io/serviceAccount.tokens": string(tokens),
			"secretsStoreImport":                       ssi,
		},
	}
}

func publish(ctx context.Context, v volume, p pod, ssi string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	_, err := node.NodePublishVolume(ctx, publishRequest(ctx, v, p, ssi))
	return err
}

func unpublish(ctx context.Context, v volume) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	_, err := node.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: v.id, TargetPath: v.target})
	return err
}

// applyImport creates or replaces SecretsStoreImport ns/name.
func applyImport(ctx context.Context, ns, name string, spec map[string]any) error {
	_, err := env.Apply(ctx, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "deckhouse.io/v1alpha1",
		"kind":       "SecretsStoreImport",
		"metadata":   map[string]any{"namespace": ns, "name": name},
		"spec":       spec,
	}})
	return err
}

// mountType is the file system type mounted at dir, "" if none.
func mountType(dir string) string {
	GinkgoHelper()
	f, err := os.Open("/proc/self/mountinfo")
	Expect(err).NotTo(HaveOccurred())
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		fields := strings.Fields(line)
		if len(fields) < 5 || fields[4] != dir {
			continue
		}
		// After the " - " separator: fstype, source, super options.
		if _, after, ok := strings.Cut(line, " - "); ok {
			return strings.Fields(after)[0] + " " + strings.Fields(line)[5]
		}
	}
	return ""
}

// files lists the names a reader of the volume sees (hidden names aside).
func files(dir string) []string {
	GinkgoHelper()
	var names []string
	var walk func(rel string)
	walk = func(rel string) {
		entries, err := os.ReadDir(filepath.Join(dir, rel))
		Expect(err).NotTo(HaveOccurred())
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "..") {
				continue
			}
			name := filepath.Join(rel, e.Name())
			info, err := os.Stat(filepath.Join(dir, name))
			Expect(err).NotTo(HaveOccurred())
			if info.IsDir() {
				walk(name)
				continue
			}
			names = append(names, name)
		}
	}
	walk("")
	sort.Strings(names)
	return names
}

func read(path string) string {
	GinkgoHelper()
	data, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred())
	return string(data)
}

// unmountAll detaches whatever is still mounted under dir, so a failed
// test leaves no mounts behind.
func unmountAll(dir string) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var points []string
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			points = append(points, fields[4])
		}
	}
	// Deepest first.
	sort.Sort(sort.Reverse(sort.StringSlice(points)))
	for _, p := range points {
		_ = syscall.Unmount(p, syscall.MNT_DETACH)
	}
}
