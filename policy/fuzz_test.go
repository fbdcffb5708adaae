package policy_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/vigil-dev/vigil/policy"
)

func FuzzLoad(f *testing.F) {
	for _, name := range []string{"testdata/full.yaml", "testdata/bad.yaml", "testdata/minimal.yaml", "testdata/kubernetes.yaml"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("policies: [&p {name: a, match: {}}, *p]\n"))
	f.Add([]byte("policies:\n  - name: a\n    match: {images: ['[']}\n"))
	f.Add([]byte("{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := policy.Parse("fuzz.yaml", data)
		if err != nil {
			var errs *policy.Errors
			if !errors.As(err, &errs) || len(errs.List) == 0 {
				t.Fatalf("Parse error %T %v is not a non-empty *Errors", err, err)
			}
			for _, e := range errs.List {
				if e.File != "fuzz.yaml" || e.Line < 0 || e.Column < 0 || e.Msg == "" {
					t.Fatalf("malformed error %+v", e)
				}
			}
			return
		}
		seen := map[string]bool{}
		for i, p := range c.Policies {
			if p.Name == "" || seen[p.Name] {
				t.Fatalf("policy %d has an empty or duplicate name %q", i, p.Name)
			}
			seen[p.Name] = true
			if !strings.HasPrefix(p.Pos.Field, "policies[") {
				t.Fatalf("policy %q has position %+v", p.Name, p.Pos)
			}
		}
		// Decide never panics on what Parse accepts.
		d := c.Decide(policy.Facts{Image: "nginx", Labels: map[string]string{"a": "b"}, K8sNamespace: "prod"})
		if len(d.Reasons) == 0 {
			t.Fatal("Decide gave no reason")
		}
	})
}
