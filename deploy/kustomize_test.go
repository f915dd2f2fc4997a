package deploy_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"sigs.k8s.io/yaml"
)

// kustomization is the subset of kustomize's Kustomization that cxaudit's
// manifests use. It is decoded strictly: a field the test does not resolve
// fails the test instead of being ignored.
type kustomization struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Labels     []struct {
		Pairs            map[string]string `json:"pairs"`
		IncludeSelectors bool              `json:"includeSelectors"`
	} `json:"labels,omitempty"`
	Resources []string `json:"resources,omitempty"`
	Images    []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
	} `json:"images,omitempty"`
	Replicas []struct {
		Name  string `json:"name"`
		Count int32  `json:"count"`
	} `json:"replicas,omitempty"`
	ConfigMapGenerator []struct {
		Name     string   `json:"name"`
		Behavior string   `json:"behavior,omitempty"`
		Files    []string `json:"files,omitempty"`
		Literals []string `json:"literals,omitempty"`
	} `json:"configMapGenerator,omitempty"`
	Patches []struct {
		Path string `json:"path"`
	} `json:"patches,omitempty"`
}

// object is one rendered manifest.
type object = map[string]any

func kindName(o object) string {
	md, _ := o["metadata"].(map[string]any)
	return fmt.Sprintf("%s/%s", o["kind"], md["name"])
}

// render resolves the kustomization in dir the way `kustomize build` does
// for the features above, except that generated ConfigMaps keep their
// names (no content hash suffix).
func render(t *testing.T, dir string) []object {
	t.Helper()
	var k kustomization
	data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	require.NoError(t, err)
	require.NoError(t, yaml.UnmarshalStrict(data, &k), "%s/kustomization.yaml", dir)
	require.Equal(t, "Kustomization", k.Kind)

	var objs []object
	for _, r := range k.Resources {
		p := filepath.Join(dir, r)
		st, err := os.Stat(p)
		require.NoError(t, err, "%s: resource %s", dir, r)
		if st.IsDir() {
			objs = append(objs, render(t, p)...)
			continue
		}
		objs = append(objs, readObjects(t, p)...)
	}
	for _, g := range k.ConfigMapGenerator {
		cm := object{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": g.Name}}
		entries := map[string]any{}
		for _, f := range g.Files {
			p := filepath.Join(dir, f)
			abs, err := filepath.Abs(p)
			require.NoError(t, err)
			root, err := filepath.Abs(dir)
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(abs, root+string(filepath.Separator)), "kustomize refuses %s: outside %s", f, dir)
			b, err := os.ReadFile(p)
			require.NoError(t, err, "%s: configMapGenerator %s", dir, g.Name)
			entries[filepath.Base(f)] = string(b)
		}
		for _, l := range g.Literals {
			key, val, ok := strings.Cut(l, "=")
			require.True(t, ok, "literal %q", l)
			entries[key] = val
		}
		cm["data"] = entries
		switch g.Behavior {
		case "", "create":
			require.Nil(t, find(objs, "ConfigMap", g.Name), "%s: ConfigMap %s generated twice", dir, g.Name)
			objs = append(objs, cm)
		case "merge":
			base := find(objs, "ConfigMap", g.Name)
			require.NotNil(t, base, "%s: merge into missing ConfigMap %s", dir, g.Name)
			data := base["data"].(map[string]any)
			for k, v := range entries {
				data[k] = v
			}
		default:
			t.Fatalf("%s: unsupported generator behavior %q", dir, g.Behavior)
		}
	}
	for _, p := range k.Patches {
		patches := readObjects(t, filepath.Join(dir, p.Path))
		for _, patch := range patches {
			md := patch["metadata"].(map[string]any)
			target := find(objs, patch["kind"].(string), md["name"].(string))
			require.NotNil(t, target, "%s: patch %s targets nothing", dir, kindName(patch))
			require.Equal(t, "Deployment", patch["kind"], "the test resolves strategic merge patches of Deployments only")
			orig, err := json.Marshal(target)
			require.NoError(t, err)
			pj, err := json.Marshal(patch)
			require.NoError(t, err)
			merged, err := strategicpatch.StrategicMergePatch(orig, pj, appsv1.Deployment{})
			require.NoError(t, err)
			clear(target)
			require.NoError(t, json.Unmarshal(merged, &target))
		}
	}
	for _, r := range k.Replicas {
		d := find(objs, "Deployment", r.Name)
		require.NotNil(t, d, "%s: replicas for missing Deployment %s", dir, r.Name)
		d["spec"].(map[string]any)["replicas"] = float64(r.Count)
	}
	for _, o := range objs {
		for _, l := range k.Labels {
			require.False(t, l.IncludeSelectors, "the test does not resolve labels in selectors")
			md := o["metadata"].(map[string]any)
			labels, _ := md["labels"].(map[string]any)
			if labels == nil {
				labels = map[string]any{}
				md["labels"] = labels
			}
			for k, v := range l.Pairs {
				labels[k] = v
			}
		}
		if k.Namespace != "" && o["kind"] != "Namespace" {
			o["metadata"].(map[string]any)["namespace"] = k.Namespace
		}
		if len(k.Images) > 0 {
			forEachContainer(o, func(c map[string]any) {
				name, tag, _ := strings.Cut(c["image"].(string), ":")
				for _, img := range k.Images {
					if img.Name != name {
						continue
					}
					if img.NewName != "" {
						name = img.NewName
					}
					if img.NewTag != "" {
						tag = img.NewTag
					}
				}
				c["image"] = name
				if tag != "" {
					c["image"] = name + ":" + tag
				}
			})
		}
	}
	return objs
}

func forEachContainer(o object, fn func(map[string]any)) {
	if o["kind"] != "Deployment" {
		return
	}
	pod := o["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	for _, field := range []string{"initContainers", "containers"} {
		cs, _ := pod[field].([]any)
		for _, c := range cs {
			fn(c.(map[string]any))
		}
	}
}

func find(objs []object, kind, name string) object {
	for _, o := range objs {
		md, _ := o["metadata"].(map[string]any)
		if o["kind"] == kind && md["name"] == name {
			return o
		}
	}
	return nil
}

// readObjects reads the YAML documents of a manifest file.
func readObjects(t *testing.T, path string) []object {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var out []object
	for doc := range strings.SplitSeq(string(data), "\n---") {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		var o object
		require.NoError(t, yaml.Unmarshal([]byte(doc), &o), path)
		require.NotEmpty(t, o["kind"], "%s: a document without kind", path)
		out = append(out, o)
	}
	return out
}

func stripComments(doc string) string {
	var b strings.Builder
	for line := range strings.Lines(doc) {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line)
		}
	}
	return b.String()
}

// decodeStrict decodes a rendered object into a Kubernetes API type,
// failing on any field the type does not have.
func decodeStrict(t *testing.T, o object, into any) {
	t.Helper()
	b, err := yaml.Marshal(o)
	require.NoError(t, err)
	require.NoError(t, yaml.UnmarshalStrict(b, into), kindName(o))
}

func kinds(objs []object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, kindName(o))
	}
	slices.Sort(out)
	return out
}
