package policy

import (
	"fmt"
	"strings"
)

// Facts are what is known about a container when its policy is chosen.
type Facts struct {
	// Image is the image reference as containerd knows it.
	Image string
	// ContainerdNamespace is the containerd namespace, e.g. "default" or "k8s.io".
	ContainerdNamespace string
	// K8sNamespace is the pod's Kubernetes namespace, "" outside Kubernetes.
	K8sNamespace string
	// Labels are the containerd container labels.
	Labels map[string]string
	// Annotations are the OCI spec annotations.
	Annotations map[string]string
	// PodLabels are the Kubernetes pod's labels.
	PodLabels map[string]string

	// ContainerID, ContainerName, SandboxID and IsSandbox (true for a pod
	// sandbox, the pause container) identify the container; they take no
	// part in matching.
	ContainerID, ContainerName, SandboxID string
	IsSandbox                             bool
}

// Decision is the policy chosen for a container and why.
type Decision struct {
	// Policy is the first policy that matched; nil when none did, and then
	// the caller applies DefaultPolicy.
	Policy *Policy
	// Index is Policy's position in Config.Policies, -1 when none matched.
	Index int
	// Reasons say, in order, why each earlier policy was skipped and why
	// the chosen one matched.
	Reasons []string
}

// Decide returns the first policy of c whose Match selects the container.
// A nil Config has no policy. Decide does not modify c and may be called
// concurrently.
func (c *Config) Decide(f Facts) Decision {
	img := NormalizeImage(f.Image)
	d := Decision{Index: -1}
	var policies []*Policy
	if c != nil {
		policies = c.Policies
	}
	for i, p := range policies {
		ok, why := p.Match.explain(f, img)
		if ok {
			d.Policy, d.Index = p, i
			d.Reasons = append(d.Reasons, fmt.Sprintf("policy %q matched: %s", p.Name, why))
			return d
		}
		d.Reasons = append(d.Reasons, fmt.Sprintf("policy %q skipped: %s", p.Name, why))
	}
	d.Reasons = append(d.Reasons, fmt.Sprintf("no policy matched (%d tried): the built-in default policy applies", len(policies)))
	return d
}

// Matches reports whether m selects the container.
func (m Match) Matches(f Facts) bool {
	ok, _ := m.explain(f, NormalizeImage(f.Image))
	return ok
}

// explain evaluates every selector; it returns whether all matched, and
// either why they matched or why the failing ones did not.
func (m Match) explain(f Facts, img Image) (bool, string) {
	if m.Empty() {
		return true, "empty match selects every container"
	}
	var yes, no []string
	add := func(ok bool, why string) {
		if ok {
			yes = append(yes, why)
		} else {
			no = append(no, why)
		}
	}
	if len(m.Images) > 0 {
		add(matchImages(m.Images, img))
	}
	for _, s := range m.Labels {
		add(s.explain("label", []source{{"label", f.Labels}, {"pod label", f.PodLabels}, {"annotation", f.Annotations}}))
	}
	for _, s := range m.Annotations {
		add(s.explain("annotation", []source{{"annotation", f.Annotations}}))
	}
	if len(m.Namespaces) > 0 {
		add(matchNamespaces(m.Namespaces, f))
	}
	if len(no) > 0 {
		return false, strings.Join(no, "; ")
	}
	return true, strings.Join(yes, "; ")
}

func matchImages(pats []ImagePattern, img Image) (bool, string) {
	for _, p := range pats {
		if p.MatchImage(img) {
			return true, fmt.Sprintf("image %q matches %q", img.Ref, p.Normalized)
		}
	}
	names := make([]string, len(pats))
	for i, p := range pats {
		names[i] = p.Normalized
	}
	return false, fmt.Sprintf("image %q matches none of [%s]", img.Ref, strings.Join(names, " "))
}

func matchNamespaces(pats []Glob, f Facts) (bool, string) {
	type ns struct{ kind, name string }
	var have []ns
	if f.ContainerdNamespace != "" {
		have = append(have, ns{"containerd namespace", f.ContainerdNamespace})
	}
	if f.K8sNamespace != "" {
		have = append(have, ns{"Kubernetes namespace", f.K8sNamespace})
	}
	for _, p := range pats {
		for _, h := range have {
			if p.Match(h.name) {
				return true, fmt.Sprintf("%s %q matches %q", h.kind, h.name, p.Pattern)
			}
		}
	}
	names := make([]string, len(pats))
	for i, p := range pats {
		names[i] = p.Pattern
	}
	if len(have) == 0 {
		return false, fmt.Sprintf("no namespace is known; want one of [%s]", strings.Join(names, " "))
	}
	got := make([]string, len(have))
	for i, h := range have {
		got[i] = fmt.Sprintf("%s %q", h.kind, h.name)
	}
	verb := "matches"
	if len(got) > 1 {
		verb = "match"
	}
	return false, fmt.Sprintf("%s %s none of [%s]", strings.Join(got, " and "), verb, strings.Join(names, " "))
}

type source struct {
	kind string
	m    map[string]string
}

func (s Selector) explain(what string, srcs []source) (bool, string) {
	var seen []string
	for _, src := range srcs {
		v, ok := src.m[s.Key]
		if !ok {
			continue
		}
		if s.Value.Match(v) {
			return true, fmt.Sprintf("%s %s=%q matches %q", src.kind, s.Key, v, s.Value.Pattern)
		}
		seen = append(seen, fmt.Sprintf("%s %s=%q", src.kind, s.Key, v))
	}
	if len(seen) == 0 {
		return false, fmt.Sprintf("%s %q is not set", what, s.Key)
	}
	return false, fmt.Sprintf("%s does not match %q", strings.Join(seen, " and "), s.Value.Pattern)
}
