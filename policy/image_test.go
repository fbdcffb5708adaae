package policy_test

import (
	"strings"
	"testing"

	"github.com/vigil-dev/vigil/policy"
)

const (
	dig  = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	dig2 = "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
)

func TestNormalizeImage(t *testing.T) {
	tests := []struct {
		in   string
		want policy.Image
	}{
		{"nginx", policy.Image{Ref: "docker.io/library/nginx:latest", Name: "docker.io/library/nginx", Tag: "latest"}},
		{"library/nginx:1.25", policy.Image{Ref: "docker.io/library/nginx:1.25", Name: "docker.io/library/nginx", Tag: "1.25"}},
		{"docker.io/myorg/app", policy.Image{Ref: "docker.io/myorg/app:latest", Name: "docker.io/myorg/app", Tag: "latest"}},
		{"localhost:5000/app:dev", policy.Image{Ref: "localhost:5000/app:dev", Name: "localhost:5000/app", Tag: "dev"}},
		{"nginx@" + dig, policy.Image{Ref: "docker.io/library/nginx@" + dig, Name: "docker.io/library/nginx", Digest: dig}},
		{"nginx:1.25@" + dig, policy.Image{Ref: "docker.io/library/nginx:1.25@" + dig, Name: "docker.io/library/nginx", Tag: "1.25", Digest: dig}},
		{"Not A Ref", policy.Image{Ref: "Not A Ref"}},
		{"", policy.Image{}},
	}
	for _, tt := range tests {
		if got := policy.NormalizeImage(tt.in); got != tt.want {
			t.Errorf("NormalizeImage(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestCompileImagePattern(t *testing.T) {
	tests := []struct {
		pattern, normalized string
		anyTag              bool
	}{
		{"nginx", "docker.io/library/nginx", true},
		{"nginx:*", "docker.io/library/nginx:*", false},
		{"nginx:1.*", "docker.io/library/nginx:1.*", false},
		{"myorg/*", "docker.io/myorg/*", true},
		{"*", "docker.io/library/*", true},
		{"[ab]usybox", "docker.io/library/[ab]usybox", true},
		{"registry.example.com/payments/**", "registry.example.com/payments/**", true},
		{"*.example.com/**", "*.example.com/**", true},
		{"**", "**", true},
		{"**/nginx:*", "**/nginx:*", false},
		{"nginx@" + dig, "docker.io/library/nginx@" + dig, false},
		{"nginx@sha256:*", "docker.io/library/nginx@sha256:*", false},
		{"localhost:5000/app:*", "localhost:5000/app:*", false},
		{"index.docker.io/library/nginx", "docker.io/library/nginx", true},
		{"Upper/Case", "Upper/Case", true}, // not a reference: used as written
	}
	for _, tt := range tests {
		p, err := policy.CompileImagePattern(tt.pattern)
		if err != nil {
			t.Errorf("CompileImagePattern(%q) = %v", tt.pattern, err)
			continue
		}
		if p.Normalized != tt.normalized || p.AnyTag != tt.anyTag || p.Pattern != tt.pattern {
			t.Errorf("CompileImagePattern(%q) = %q anyTag=%v, want %q anyTag=%v", tt.pattern, p.Normalized, p.AnyTag, tt.normalized, tt.anyTag)
		}
	}
	for _, bad := range []string{"", "nginx:[", "a b", `x\`} {
		if _, err := policy.CompileImagePattern(bad); err == nil {
			t.Errorf("CompileImagePattern(%q) succeeded", bad)
		}
	}
}

func TestMatchImage(t *testing.T) {
	tests := []struct {
		pattern, image string
		want           bool
	}{
		// Normalization on both sides.
		{"nginx", "nginx", true},
		{"nginx", "docker.io/library/nginx:latest", true},
		{"nginx", "library/nginx", true},
		{"docker.io/library/nginx", "nginx", true},
		// A pattern without tag or digest matches every tag and digest.
		{"nginx", "nginx:1.25", true},
		{"nginx", "nginx@" + dig, true},
		{"nginx", "nginxx", false},
		{"nginx", "myorg/nginx", false},
		{"nginx", "quay.io/nginx", false},
		// Tag patterns.
		{"nginx:latest", "nginx", true},
		{"nginx:*", "nginx:1.25", true},
		{"nginx:*", "nginx", true},
		{"nginx:*", "nginx@" + dig, false},
		{"nginx:*", "nginx:1.25@" + dig, true},
		{"nginx:1.*", "nginx:1.25", true},
		{"nginx:1.*", "nginx:2.0", false},
		{"nginx:1.25", "nginx:1.25@" + dig, true},
		{"docker.io/library/nginx:*", "nginx:alpine", true},
		// '*' stays in a segment, '**' crosses them.
		{"registry.example.com/payments/**", "registry.example.com/payments/api:v1", true},
		{"registry.example.com/payments/**", "registry.example.com/payments/team/api:v1", true},
		{"registry.example.com/payments/**", "registry.example.com/other/api:v1", false},
		{"registry.example.com/payments/*", "registry.example.com/payments/api:v1", true},
		{"registry.example.com/payments/*", "registry.example.com/payments/team/api:v1", false},
		{"registry.example.com/payments/*:v1", "registry.example.com/payments/api:v1", true},
		{"registry.example.com/payments/*:v1", "registry.example.com/payments/api:v2", false},
		{"*.example.com/**", "registry.example.com/a/b:1", true},
		{"*.example.com/**", "example.com/a", false},
		{"**", "quay.io/x/y:1", true},
		{"**", "nginx", true},
		{"**/nginx:*", "quay.io/x/nginx:1", true},
		{"**/nginx:*", "nginx:1", true},
		{"**/nginx:*", "quay.io/x/nginx-exporter:1", false},
		{"*", "nginx", true},
		{"*", "myorg/app", false},
		{"myorg/*", "myorg/app:1", true},
		{"[ab]usybox", "busybox", true},
		{"[ab]usybox", "cusybox", false},
		{"localhost:5000/app:*", "localhost:5000/app:dev", true},
		// Digests.
		{"nginx@" + dig, "nginx@" + dig, true},
		{"nginx@" + dig, "nginx:1.25@" + dig, true},
		{"nginx@" + dig, "nginx@" + dig2, false},
		{"nginx@" + dig, "nginx:1.25", false},
		{"nginx@sha256:*", "nginx@" + dig, true},
		{"nginx@sha256:*", "nginx:1.25", false},
		{"nginx:1.25@" + dig, "nginx:1.25@" + dig, true},
		// A reference that does not parse is matched as given.
		{"**", "sha256:" + strings.Repeat("a", 64), true},
		{"nginx", "sha256:" + strings.Repeat("a", 64), false},
		{"nginx", "", false},
	}
	for _, tt := range tests {
		got, err := policy.MatchImage(tt.pattern, tt.image)
		if err != nil {
			t.Errorf("MatchImage(%q, %q) = %v", tt.pattern, tt.image, err)
			continue
		}
		if got != tt.want {
			t.Errorf("MatchImage(%q, %q) = %v, want %v", tt.pattern, tt.image, got, tt.want)
		}
	}
}

func FuzzMatchImage(f *testing.F) {
	for _, s := range [][2]string{
		{"nginx", "nginx"}, {"nginx:*", "nginx:1.25"}, {"registry.example.com/payments/**", "registry.example.com/payments/a/b:1"},
		{"nginx@sha256:*", "nginx@" + dig}, {"**", "x"}, {"[a-", "x"}, {"localhost:5000/*", "localhost:5000/a"},
		{"a/b/c/d:[0-9]?", "a/b/c/d:1a"}, {`\n\g\i\n\x`, "nginx"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, image string) {
		ok, err := policy.MatchImage(pattern, image)
		if err != nil && ok {
			t.Fatalf("MatchImage(%q, %q) = true with error %v", pattern, image, err)
		}
		img := policy.NormalizeImage(image)
		if img.Name == "" {
			return
		}
		// A parsed reference matches itself, written as given or normalized.
		for _, p := range []string{image, img.Ref} {
			if policy.IsGlob(p) {
				continue
			}
			if m, err := policy.MatchImage(p, image); err != nil || !m {
				t.Fatalf("MatchImage(%q, %q) = %v, %v; want true", p, image, m, err)
			}
		}
		// Normalizing is idempotent.
		if again := policy.NormalizeImage(img.Ref); again != img {
			t.Fatalf("NormalizeImage(%q) = %+v, then %+v", image, img, again)
		}
		// "**" matches every image, and the repository matches every tag.
		if m, _ := policy.MatchImage("**", image); !m {
			t.Fatalf(`MatchImage("**", %q) = false`, image)
		}
		if m, err := policy.MatchImage(img.Name, image); !policy.IsGlob(img.Name) && (err != nil || !m) {
			t.Fatalf("MatchImage(%q, %q) = %v, %v; want true", img.Name, image, m, err)
		}
	})
}
