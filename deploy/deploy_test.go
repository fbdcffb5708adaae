package deploy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/vigil-dev/vigil/install"
	"github.com/vigil-dev/vigil/monitor/rules"
	"github.com/vigil-dev/vigil/policy"
)

// object is one decoded manifest document.
type object struct {
	file string
	obj  any
}

// decodeStrict decodes a manifest document into the API type its kind
// names the way the API server's strict field validation does: duplicate
// keys, unknown fields and fields matched only case-insensitively (a typo
// such as hostPid, which encoding/json would quietly accept as hostPID)
// are errors.
func decodeStrict(file string, doc []byte) (any, error) {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var tm metav1.TypeMeta
	if err := json.Unmarshal(j, &tm); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var obj any
	switch tm.APIVersion + "/" + tm.Kind {
	case "v1/Namespace":
		obj = &corev1.Namespace{}
	case "v1/ConfigMap":
		obj = &corev1.ConfigMap{}
	case "node.k8s.io/v1/RuntimeClass":
		obj = &nodev1.RuntimeClass{}
	case "apps/v1/DaemonSet":
		obj = &appsv1.DaemonSet{}
	default:
		return nil, fmt.Errorf("%s: unexpected kind %s/%s", file, tm.APIVersion, tm.Kind)
	}
	strict, err := sigsjson.UnmarshalStrict(j, obj, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
	if err != nil {
		return nil, fmt.Errorf("%s (%s): %w", file, tm.Kind, err)
	}
	if len(strict) > 0 {
		return nil, fmt.Errorf("%s (%s): %w", file, tm.Kind, errors.Join(strict...))
	}
	return obj, nil
}

func loadManifests(t *testing.T) []object {
	t.Helper()
	files, err := fs.Glob(Manifests, "*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	var out []object
	for _, f := range files {
		data, err := Manifests.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for {
			doc, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if len(bytes.TrimSpace(stripComments(doc))) == 0 {
				continue
			}
			obj, err := decodeStrict(f, doc)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, object{f, obj})
		}
	}
	return out
}

func stripComments(doc []byte) []byte {
	var b bytes.Buffer
	for _, l := range strings.Split(string(doc), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.Bytes()
}

func find[T any](t *testing.T, objs []object) T {
	t.Helper()
	var found []T
	for _, o := range objs {
		if v, ok := o.obj.(T); ok {
			found = append(found, v)
		}
	}
	if len(found) != 1 {
		var zero T
		t.Fatalf("want exactly one %T, found %d", zero, len(found))
	}
	return found[0]
}

// The strict decoder itself rejects what it must.
func TestDecodeStrictRejects(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"unknown field", "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: x}\nhandler: vigil\nhandlr: typo\n", "handlr"},
		{"unknown nested field", "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      hostPid: true\n", "hostPid"},
		{"wrong type", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: [1]}\n", "ConfigMap"},
		{"unknown kind", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n", "unexpected kind"},
		{"duplicate key", "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: x}\nhandler: vigil\nhandler: runc\n", "handler"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeStrict("x.yaml", []byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestManifests(t *testing.T) {
	objs := loadManifests(t)
	ns := find[*corev1.Namespace](t, objs)
	rc := find[*nodev1.RuntimeClass](t, objs)
	cm := find[*corev1.ConfigMap](t, objs)
	ds := find[*appsv1.DaemonSet](t, objs)

	if rc.Name != install.DefaultHandler || rc.Handler != install.DefaultHandler {
		t.Errorf("RuntimeClass %s handler %q, want %q (the handler vigil install adds)", rc.Name, rc.Handler, install.DefaultHandler)
	}
	for _, o := range []metav1.Object{cm, ds} {
		if o.GetNamespace() != ns.Name {
			t.Errorf("%s is in namespace %q, want %q", o.GetName(), o.GetNamespace(), ns.Name)
		}
	}

	spec := ds.Spec.Template.Spec
	if !spec.HostPID {
		t.Error("DaemonSet: hostPID is needed to nsenter into PID 1 and restart containerd")
	}
	for k, v := range ds.Spec.Selector.MatchLabels {
		if ds.Spec.Template.Labels[k] != v {
			t.Errorf("selector %s=%s does not match the pod template's labels", k, v)
		}
	}
	if len(spec.InitContainers) != 1 {
		t.Fatalf("want one install init container, got %d", len(spec.InitContainers))
	}
	inst := spec.InitContainers[0]
	if inst.SecurityContext == nil || inst.SecurityContext.Privileged == nil || !*inst.SecurityContext.Privileged {
		t.Error("the install container must be privileged")
	}
	script := strings.Join(append(inst.Command, inst.Args...), " ")
	for _, want := range []string{"vigil install", "--bin-dir /usr/local/bin", "--policy-dir /etc/vigil", "--config /etc/containerd/config.toml", "nsenter --target 1", "systemctl restart containerd"} {
		if !strings.Contains(script, want) {
			t.Errorf("install script lacks %q", want)
		}
	}
	// Each host path is mounted at the same path, so what vigil install
	// writes into containerd's config is valid on the host.
	hostPaths := map[string]string{}
	for _, v := range spec.Volumes {
		if v.HostPath != nil {
			hostPaths[v.Name] = v.HostPath.Path
		}
	}
	mounted := map[string]bool{}
	for _, m := range inst.VolumeMounts {
		if p, ok := hostPaths[m.Name]; ok {
			if p != m.MountPath {
				t.Errorf("host path %s is mounted at %s; mount it at the same path", p, m.MountPath)
			}
			mounted[p] = true
		}
	}
	for _, p := range []string{"/etc/containerd", "/usr/local/bin", "/etc/vigil", "/sys/fs/bpf", "/run/containerd"} {
		if !mounted[p] {
			t.Errorf("host path %s is not mounted into the install container", p)
		}
	}

	// The ConfigMap's files land where the policy names them.
	var cmVolume string
	for _, v := range spec.Volumes {
		if v.ConfigMap != nil && v.ConfigMap.Name == cm.Name {
			cmVolume = v.Name
		}
	}
	if cmVolume == "" {
		t.Fatalf("the DaemonSet does not mount ConfigMap %s", cm.Name)
	}
	for key := range cm.Data {
		if !strings.Contains(script, "/"+key+" ") {
			t.Errorf("the install script does not copy ConfigMap key %s", key)
		}
	}
	cfg := loadPolicy(t, cm.Data["config.yaml"])
	for _, p := range cfg.Policies {
		for _, r := range p.Monitor.Rules {
			key := filepath.Base(r)
			if _, ok := cm.Data[key]; !ok || !strings.Contains(script, r) {
				t.Errorf("policy %s uses rules %s, which the ConfigMap (key %s) and the install script do not provide", p.Name, r, key)
			}
			if _, _, err := rules.LoadBuiltin(rules.Source{Name: "configmap:" + key, Data: []byte(cm.Data[key])}); err != nil {
				t.Errorf("rules %s do not load on top of the built-in ones: %v", key, err)
			}
		}
	}
	if !slices.ContainsFunc(cfg.Policies, func(p *policy.Policy) bool { return len(p.Monitor.Rules) > 0 }) {
		t.Error("no policy uses the ConfigMap's rules")
	}
}

// loadPolicy writes the ConfigMap's policy as the installer does (0600)
// and loads it with the loader the shim uses.
func loadPolicy(t *testing.T, body string) *policy.Config {
	t.Helper()
	if body == "" {
		t.Fatal("the ConfigMap has no config.yaml")
	}
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := policy.Load(p)
	if err != nil {
		t.Fatalf("the ConfigMap's policy does not load: %v", err)
	}
	return cfg
}
