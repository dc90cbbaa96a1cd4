package chart

import (
	"fmt"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/releaseutil"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// monitoringAPIs are the API versions of the optional CRDs the chart checks
// with .Capabilities.APIVersions.Has.
var monitoringAPIs = []string{
	"monitoring.coreos.com/v1",
	"monitoring.coreos.com/v1/PodMonitor",
	"monitoring.coreos.com/v1/PrometheusRule",
	"autoscaling.k8s.io/v1",
	"autoscaling.k8s.io/v1/VerticalPodAutoscaler",
	"deckhouse.io/v1",
	"deckhouse.io/v1/GrafanaDashboardDefinition",
}

// loadChart loads the module's chart from the repository root, honouring
// .helmignore as `helm install` does.
func loadChart(root string) (*chart.Chart, error) {
	c, err := loader.Load(root)
	if err != nil {
		return nil, fmt.Errorf("load chart %s: %w", root, err)
	}
	return c, nil
}

// rendered is one object of the rendered chart and the template it came from.
type rendered struct {
	Source string
	Obj    *unstructured.Unstructured
}

// render renders the chart's templates as `helm template` would, with the
// given values and, when withMonitoring, the monitoring CRDs' API versions
// among the cluster's capabilities. It returns the objects in a stable order.
func render(c *chart.Chart, values map[string]any, withMonitoring bool) ([]*unstructured.Unstructured, error) {
	out, err := renderFrom(c, values, withMonitoring)
	if err != nil {
		return nil, err
	}
	objs := make([]*unstructured.Unstructured, len(out))
	for i, r := range out {
		objs[i] = r.Obj
	}
	return objs, nil
}

// renderFrom is render that also says which template made each object.
func renderFrom(c *chart.Chart, values map[string]any, withMonitoring bool) ([]rendered, error) {
	caps := chartutil.DefaultCapabilities.Copy()
	caps.KubeVersion = chartutil.KubeVersion{Version: "v1.37.2", Major: "1", Minor: "37"}
	if withMonitoring {
		caps.APIVersions = append(chartutil.VersionSet{}, caps.APIVersions...)
		caps.APIVersions = append(caps.APIVersions, monitoringAPIs...)
	}
	opts := chartutil.ReleaseOptions{
		Name: "secrets-store-integration", Namespace: "d8-secrets-store-integration",
		Revision: 1, IsInstall: true,
	}
	vals, err := chartutil.ToRenderValues(c, values, opts, caps)
	if err != nil {
		return nil, fmt.Errorf("make render values: %w", err)
	}
	files, err := engine.Render(c, vals)
	if err != nil {
		return nil, fmt.Errorf("render chart: %w", err)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	var objs []rendered
	for _, name := range names {
		if strings.HasSuffix(name, "NOTES.txt") || strings.HasPrefix(base(name), "_") {
			continue
		}
		for _, doc := range releaseutil.SplitManifests(files[name]) {
			obj := &unstructured.Unstructured{}
			if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
				return nil, fmt.Errorf("decode %s: %w\n%s", name, err, doc)
			}
			if len(obj.Object) == 0 {
				continue // a document of comments only
			}
			objs = append(objs, rendered{Source: strings.TrimPrefix(name, c.Name()+"/"), Obj: obj})
		}
	}
	return objs, nil
}

func base(path string) string {
	return path[strings.LastIndex(path, "/")+1:]
}

// key names an object as kind/namespace/name, or kind/name when cluster-scoped.
func key(obj *unstructured.Unstructured) string {
	if obj.GetNamespace() == "" {
		return obj.GetKind() + "/" + obj.GetName()
	}
	return obj.GetKind() + "/" + obj.GetNamespace() + "/" + obj.GetName()
}
