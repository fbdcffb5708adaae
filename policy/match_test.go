package policy_test

import (
	"reflect"
	"testing"

	"github.com/vigil-dev/vigil/policy"
)

func mustParse(t *testing.T, src string) *policy.Config {
	t.Helper()
	c, err := policy.Parse("c.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

func TestDecide(t *testing.T) {
	c := mustParse(t, `policies:
  - name: payments
    match:
      images: ["registry.example.com/payments/**", "nginx:*"]
      labels: {tier: crit*}
  - name: cri-containers
    match:
      annotations: {"io.kubernetes.cri.container-type": container}
  - name: prod
    match: {namespaces: ["prod", "prod-*"]}
  - name: two-labels
    match: {labels: {app: web, team: a}}
  - name: default
    match: {}
`)
	tests := []struct {
		name    string
		facts   policy.Facts
		policy  string // "" for none
		reasons []string
	}{
		{"image and container label", policy.Facts{Image: "nginx:1.25", Labels: map[string]string{"tier": "critical"}}, "payments",
			[]string{`policy "payments" matched: image "docker.io/library/nginx:1.25" matches "docker.io/library/nginx:*"; label tier="critical" matches "crit*"`}},
		{"pod label", policy.Facts{Image: "registry.example.com/payments/api:v1", PodLabels: map[string]string{"tier": "critical"}}, "payments",
			[]string{`policy "payments" matched: image "registry.example.com/payments/api:v1" matches "registry.example.com/payments/**"; pod label tier="critical" matches "crit*"`}},
		{"annotation satisfies a label selector", policy.Facts{Image: "nginx", Annotations: map[string]string{"tier": "crit"}}, "payments",
			[]string{`policy "payments" matched: image "docker.io/library/nginx:latest" matches "docker.io/library/nginx:*"; annotation tier="crit" matches "crit*"`}},
		{"a mismatching label does not hide a matching pod label", policy.Facts{Image: "nginx", Labels: map[string]string{"tier": "low"}, PodLabels: map[string]string{"tier": "critical"}}, "payments",
			[]string{`policy "payments" matched: image "docker.io/library/nginx:latest" matches "docker.io/library/nginx:*"; pod label tier="critical" matches "crit*"`}},
		{"image does not match", policy.Facts{Image: "busybox", Labels: map[string]string{"tier": "critical"}, Annotations: map[string]string{"io.kubernetes.cri.container-type": "container"}}, "cri-containers",
			[]string{
				`policy "payments" skipped: image "docker.io/library/busybox:latest" matches none of [registry.example.com/payments/** docker.io/library/nginx:*]`,
				`policy "cri-containers" matched: annotation io.kubernetes.cri.container-type="container" matches "container"`,
			}},
		{"label value does not match, annotation only from annotations", policy.Facts{Image: "nginx", Labels: map[string]string{"tier": "low", "io.kubernetes.cri.container-type": "container"}, K8sNamespace: "prod-eu"}, "prod",
			[]string{
				`policy "payments" skipped: label tier="low" does not match "crit*"`,
				`policy "cri-containers" skipped: annotation "io.kubernetes.cri.container-type" is not set`,
				`policy "prod" matched: Kubernetes namespace "prod-eu" matches "prod-*"`,
			}},
		{"containerd namespace", policy.Facts{Image: "busybox", ContainerdNamespace: "prod"}, "prod",
			[]string{
				`policy "payments" skipped: image "docker.io/library/busybox:latest" matches none of [registry.example.com/payments/** docker.io/library/nginx:*]; label "tier" is not set`,
				`policy "cri-containers" skipped: annotation "io.kubernetes.cri.container-type" is not set`,
				`policy "prod" matched: containerd namespace "prod" matches "prod"`,
			}},
		{"all label selectors must match", policy.Facts{Image: "busybox", ContainerdNamespace: "k8s.io", K8sNamespace: "dev", Labels: map[string]string{"app": "web"}}, "default",
			[]string{
				`policy "payments" skipped: image "docker.io/library/busybox:latest" matches none of [registry.example.com/payments/** docker.io/library/nginx:*]; label "tier" is not set`,
				`policy "cri-containers" skipped: annotation "io.kubernetes.cri.container-type" is not set`,
				`policy "prod" skipped: containerd namespace "k8s.io" and Kubernetes namespace "dev" match none of [prod prod-*]`,
				`policy "two-labels" skipped: label "team" is not set`,
				`policy "default" matched: empty match selects every container`,
			}},
		{"both labels", policy.Facts{Image: "busybox", Labels: map[string]string{"app": "web"}, PodLabels: map[string]string{"team": "a"}}, "two-labels",
			[]string{
				`policy "payments" skipped: image "docker.io/library/busybox:latest" matches none of [registry.example.com/payments/** docker.io/library/nginx:*]; label "tier" is not set`,
				`policy "cri-containers" skipped: annotation "io.kubernetes.cri.container-type" is not set`,
				`policy "prod" skipped: no namespace is known; want one of [prod prod-*]`,
				`policy "two-labels" matched: label app="web" matches "web"; pod label team="a" matches "a"`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := c.Decide(tt.facts)
			name := ""
			if d.Policy != nil {
				name = d.Policy.Name
				if c.Policies[d.Index] != d.Policy {
					t.Errorf("Index %d does not point at the policy", d.Index)
				}
			}
			if name != tt.policy {
				t.Errorf("Decide chose %q, want %q", name, tt.policy)
			}
			if !reflect.DeepEqual(d.Reasons, tt.reasons) {
				t.Errorf("reasons:\n got %q\nwant %q", d.Reasons, tt.reasons)
			}
		})
	}
}

func TestDecideFirstMatchWins(t *testing.T) {
	c := mustParse(t, `policies:
  - name: first
    match: {images: ["nginx"]}
  - name: second
    match: {images: ["nginx:*"]}
`)
	d := c.Decide(policy.Facts{Image: "nginx:1"})
	if d.Policy == nil || d.Policy.Name != "first" || d.Index != 0 || len(d.Reasons) != 1 {
		t.Errorf("Decide = %+v, want first", d)
	}
}

func TestDecideNoMatch(t *testing.T) {
	c := mustParse(t, `policies:
  - name: only
    match: {images: ["nginx"]}
`)
	d := c.Decide(policy.Facts{Image: "busybox"})
	want := []string{
		`policy "only" skipped: image "docker.io/library/busybox:latest" matches none of [docker.io/library/nginx]`,
		`no policy matched (1 tried): the built-in default policy applies`,
	}
	if d.Policy != nil || d.Index != -1 || !reflect.DeepEqual(d.Reasons, want) {
		t.Errorf("Decide = %+v, want no policy with %q", d, want)
	}
	empty := mustParse(t, "")
	if d := empty.Decide(policy.Facts{}); d.Policy != nil || d.Index != -1 || len(d.Reasons) != 1 {
		t.Errorf("empty config: Decide = %+v", d)
	}
}

func TestMatchEmpty(t *testing.T) {
	var m policy.Match
	if !m.Empty() || !m.Matches(policy.Facts{}) || !m.Matches(policy.Facts{Image: "x", Labels: map[string]string{"a": "b"}}) {
		t.Error("an empty Match must match every container")
	}
}

func TestDecideNilConfig(t *testing.T) {
	var c *policy.Config
	if d := c.Decide(policy.Facts{Image: "nginx"}); d.Policy != nil || d.Index != -1 || len(d.Reasons) != 1 {
		t.Errorf("nil Config: Decide = %+v", d)
	}
}
