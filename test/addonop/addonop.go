// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package addonop runs the module the way Deckhouse does: laid out as in its
// bundle image (PrepareModule), under a real addon-operator that runs the
// hooks and installs the Helm release, with its settings written where
// Deckhouse writes a ModuleConfig, and the resulting release read back.
package addonop

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"helm.sh/helm/v3/pkg/releaseutil"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/deckhouse/secrets-store-integration/test/supervisor"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

const (
	// ModuleName is the module's name, its folder in MODULES_DIR and its
	// Helm release.
	ModuleName = "secrets-store-integration"
	// ModuleValuesKey is the module's key in addon-operator's values and
	// ConfigMap.
	ModuleValuesKey = "secretsStoreIntegration"
	// Namespace is where addon-operator keeps its ConfigMap and
	// the Helm release Secrets, as Deckhouse's d8-system.
	Namespace = "d8-system"
	// ConfigMap holds the modules' settings and enablement:
	// what Deckhouse writes from each ModuleConfig.
	ConfigMap = "addon-operator"
	// HooksBinary is the module-sdk program's file name in hooks/.
	HooksBinary = "secrets-store-integration-hooks"
)

// moduleFiles are what Deckhouse ships of the module (its image holds the
// chart, the schemas, the CRDs, the monitoring files and the hooks binary).
var moduleFiles = []string{"module.yaml", "Chart.yaml", ".helmignore", "openapi", "templates", "crds", "monitoring"}

// PrepareModule lays out the module as it is in a Deckhouse module image:
// the chart files copied from the repository root into
// modulesDir/secrets-store-integration and the hooks program built into its
// hooks/ folder. It returns the module's folder.
func PrepareModule(ctx context.Context, modulesDir string) (string, error) {
	root, err := testenv.RepoRoot()
	if err != nil {
		return "", err
	}
	dst := filepath.Join(modulesDir, ModuleName)
	for _, name := range moduleFiles {
		if err := copyTree(filepath.Join(root, name), filepath.Join(dst, name)); err != nil {
			return "", err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	bin := filepath.Join(dst, "hooks", HooksBinary)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = filepath.Join(root, "hooks")
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build the hooks program: %w\n%s", err, out)
	}
	return dst, nil
}

// copyTree copies a file or a folder, keeping modes.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return os.WriteFile(target, data, info.Mode().Perm())
	})
}

// Config is how addon-operator runs.
type Config struct {
	// Binary is addon-operator (test/tools/build.sh addon-operator links it
	// into .cache/bin); empty: that link.
	Binary string
	// Env is the cluster it runs against.
	Env *testenv.Env
	// ModulesDir holds the module (PrepareModule).
	ModulesDir string
	// Dir is its own folder (temporary files, global hooks, debug socket).
	Dir string
	// Log receives a copy of each log line; nil drops the copy.
	Log io.Writer
}

// Binary is the link test/tools/build.sh makes.
func Binary() (string, error) {
	root, err := testenv.RepoRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(root, ".cache", "bin", "addon-operator")
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("addon-operator %s: %w (build it with `test/tools/build.sh addon-operator`)", bin, err)
	}
	return bin, nil
}

// Start runs addon-operator as Deckhouse runs it, in
// Namespace (created if missing) with its ConfigMap, and
// returns once it answers /readyz. It then discovers the module, runs its
// hooks and installs its release when the ConfigMap enables it.
func Start(ctx context.Context, c Config) (*supervisor.Process, error) {
	if c.Binary == "" {
		bin, err := Binary()
		if err != nil {
			return nil, err
		}
		c.Binary = bin
	}
	if err := ensureNamespace(ctx, c.Env, Namespace); err != nil {
		return nil, err
	}
	ports, err := supervisor.FreePorts(1)
	if err != nil {
		return nil, err
	}
	port := ports[0]
	globalHooks := filepath.Join(c.Dir, "global-hooks")
	tmp := filepath.Join(c.Dir, "tmp")
	for _, d := range []string{globalHooks, tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	env := append(os.Environ(),
		"KUBE_CONFIG="+c.Env.Kubeconfig,
		// The hooks program (ensure_crds) reads KUBECONFIG through
		// controller-runtime, as it would read the in-cluster config.
		"KUBECONFIG="+c.Env.Kubeconfig,
		"MODULES_DIR="+c.ModulesDir,
		"GLOBAL_HOOKS_DIR="+globalHooks,
		"ADDON_OPERATOR_TMP_DIR="+tmp,
		"ADDON_OPERATOR_NAMESPACE="+Namespace,
		"ADDON_OPERATOR_CONFIG_MAP="+ConfigMap,
		"ADDON_OPERATOR_LISTEN_ADDRESS=127.0.0.1",
		"ADDON_OPERATOR_LISTEN_PORT="+strconv.Itoa(port),
		"ADDON_OPERATOR_ADMISSION_SERVER_ENABLED=false",
		"DEBUG_UNIX_SOCKET="+filepath.Join(c.Dir, "debug.socket"),
		"LOG_TYPE=json",
		// As in Deckhouse's pod; the hooks program inherits it (module-sdk
		// logs nothing below FATAL without it).
		"LOG_LEVEL=info",
		"HELM_TIMEOUT=2m",
	)
	p := &supervisor.Process{Name: "addon-operator", Bin: c.Binary, Args: []string{"start"}, Env: env, Out: c.Log}
	p.SetMetricsAddr("127.0.0.1:" + strconv.Itoa(port))
	p.Ready = func(ctx context.Context, r *supervisor.Run) error { return r.WaitHTTP(ctx, "/readyz") }
	if err := p.Start(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

func ensureNamespace(ctx context.Context, env *testenv.Env, name string) error {
	_, err := env.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	return nil
}

// SetModuleConfig writes what Deckhouse writes into addon-operator's
// ConfigMap for a ModuleConfig of this module: spec.enabled as
// secretsStoreIntegrationEnabled and spec.settings as secretsStoreIntegration
// (YAML). settings nil leaves the settings key out.
func SetModuleConfig(ctx context.Context, env *testenv.Env, enabled bool, settings map[string]any) error {
	data := map[string]string{ModuleValuesKey + "Enabled": strconv.FormatBool(enabled)}
	if settings != nil {
		out, err := yaml.Marshal(settings)
		if err != nil {
			return fmt.Errorf("ConfigMap %s/%s key %s: %w", Namespace, ConfigMap, ModuleValuesKey, err)
		}
		data[ModuleValuesKey] = string(out)
	}
	if err := ensureNamespace(ctx, env, Namespace); err != nil {
		return err
	}
	cms := env.Kube.CoreV1().ConfigMaps(Namespace)
	cm, err := cms.Get(ctx, ConfigMap, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = cms.Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: ConfigMap, Namespace: Namespace},
			Data:       data,
		}, metav1.CreateOptions{})
		return wrapConfigMap(err)
	}
	if err != nil {
		return wrapConfigMap(err)
	}
	cm.Data = data
	_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
	return wrapConfigMap(err)
}

func wrapConfigMap(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("ConfigMap %s/%s: %w", Namespace, ConfigMap, err)
}

// Release is the state of the module's Helm release as Helm stores it (a
// Secret per revision in addon-operator's namespace).
type Release struct {
	Revision int
	Status   string
}

// ModuleRelease returns the newest revision of the module's release, or
// ok false when there is none.
func ModuleRelease(ctx context.Context, env *testenv.Env) (rel Release, ok bool, err error) {
	list, err := env.Kube.CoreV1().Secrets(Namespace).List(ctx, metav1.ListOptions{
		LabelSelector: "owner=helm,name=" + ModuleName,
	})
	if err != nil {
		return Release{}, false, fmt.Errorf("list Helm release Secrets of %s in %s: %w", ModuleName, Namespace, err)
	}
	for _, s := range list.Items {
		v, err := strconv.Atoi(s.Labels["version"])
		if err != nil {
			return Release{}, false, fmt.Errorf("Helm release Secret %s/%s: label version %q: %w", s.Namespace, s.Name, s.Labels["version"], err)
		}
		if v > rel.Revision {
			rel = Release{Revision: v, Status: s.Labels["status"]}
			ok = true
		}
	}
	return rel, ok, nil
}

// WaitModuleRelease polls until the module's release has a deployed
// revision newer than after, and returns it; a failed revision is an error.
func WaitModuleRelease(ctx context.Context, env *testenv.Env, after int) (Release, error) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		rel, ok, err := ModuleRelease(ctx, env)
		if err != nil {
			return Release{}, err
		}
		if ok && rel.Revision > after {
			switch rel.Status {
			case "deployed":
				return rel, nil
			case "failed":
				return rel, fmt.Errorf("Helm release %s revision %d failed", ModuleName, rel.Revision)
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return Release{}, fmt.Errorf("waiting for a deployed revision of Helm release %s after %d: %w", ModuleName, after, ctx.Err())
		}
	}
}

// ReleaseManifest decodes the manifest Helm stored for revision rev of the
// module's release: the objects addon-operator installed.
func ReleaseManifest(ctx context.Context, env *testenv.Env, rev int) ([]*unstructured.Unstructured, error) {
	name := "sh.helm.release.v1." + ModuleName + ".v" + strconv.Itoa(rev)
	s, err := env.Kube.CoreV1().Secrets(Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("Helm release Secret %s/%s: %w", Namespace, name, err)
	}
	gz, err := base64.StdEncoding.DecodeString(string(s.Data["release"]))
	if err != nil {
		return nil, fmt.Errorf("Helm release Secret %s/%s: data.release is not base64: %w", Namespace, name, err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("Helm release Secret %s/%s: data.release is not gzip: %w", Namespace, name, err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("Helm release Secret %s/%s: %w", Namespace, name, err)
	}
	var rel struct {
		Manifest string `json:"manifest"`
	}
	if err := json.Unmarshal(raw, &rel); err != nil {
		return nil, fmt.Errorf("Helm release Secret %s/%s: release JSON: %w", Namespace, name, err)
	}
	var objs []*unstructured.Unstructured
	for _, doc := range releaseutil.SplitManifests(rel.Manifest) {
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
			return nil, fmt.Errorf("Helm release Secret %s/%s: manifest: %w", Namespace, name, err)
		}
		if len(obj.Object) > 0 {
			objs = append(objs, obj)
		}
	}
	return objs, nil
}
