// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package helmchart renders the module's Helm chart at the repository root
// as `helm template` would, for suites that check what the chart produces.
package helmchart

import (
	"fmt"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/releaseutil"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

// ModuleNamespace is where the chart puts its namespaced objects.
const ModuleNamespace = "d8-secrets-store-integration"

// RenderedObject is one object of the rendered chart and the template it
// came from (templates/..., relative to the chart).
type RenderedObject struct {
	Source string
	Obj    *unstructured.Unstructured
}

// Render renders the module's chart at the repository root as
// `helm template` would, with the given values and apiVersions added to the
// cluster's capabilities (the optional CRDs the chart checks with
// .Capabilities.APIVersions.Has). It returns the objects in a stable order.
func Render(values map[string]any, apiVersions []string) ([]*unstructured.Unstructured, error) {
	out, err := RenderSources(values, apiVersions)
	if err != nil {
		return nil, err
	}
	objs := make([]*unstructured.Unstructured, len(out))
	for i, r := range out {
		objs[i] = r.Obj
	}
	return objs, nil
}

// RenderSources is Render that also says which template made
// each object.
func RenderSources(values map[string]any, apiVersions []string) ([]RenderedObject, error) {
	root, err := testenv.RepoRoot()
	if err != nil {
		return nil, err
	}
	// loader.Load honours .helmignore as `helm install` does.
	c, err := loader.Load(root)
	if err != nil {
		return nil, fmt.Errorf("load chart %s: %w", root, err)
	}
	caps := chartutil.DefaultCapabilities.Copy()
	caps.KubeVersion = chartutil.KubeVersion{Version: "v1.37.2", Major: "1", Minor: "37"}
	// A copy: appending to the defaults' slice would change them for the
	// next render.
	caps.APIVersions = append(append(chartutil.VersionSet{}, caps.APIVersions...), apiVersions...)
	opts := chartutil.ReleaseOptions{
		Name: "secrets-store-integration", Namespace: ModuleNamespace,
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
	var objs []RenderedObject
	for _, name := range names {
		base := name[strings.LastIndex(name, "/")+1:]
		if strings.HasSuffix(name, "NOTES.txt") || strings.HasPrefix(base, "_") {
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
			objs = append(objs, RenderedObject{Source: strings.TrimPrefix(name, c.Name()+"/"), Obj: obj})
		}
	}
	return objs, nil
}
