package policy

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/distribution/reference"
)

// ImagePattern is a compiled image pattern.
//
// A pattern is normalized like an image reference where it parses as one
// once its glob tokens are set aside: "nginx:*" becomes
// "docker.io/library/nginx:*" and "myorg/*" becomes "docker.io/myorg/*". A
// pattern whose first segment is "**" is used as written ("**" matches every
// image, "**/nginx:*" nginx from any registry). A pattern with neither tag
// nor digest ("nginx", "registry.example.com/payments/**") matches every tag
// and digest of the repositories it names; one with a tag or digest must
// match it.
type ImagePattern struct {
	// Pattern is the pattern as written.
	Pattern string
	// Normalized is the pattern that is matched.
	Normalized string
	// AnyTag is true when the pattern has neither tag nor digest.
	AnyTag bool
	glob   Glob
	Pos    Pos
}

// MarshalText encodes p as its normalized pattern.
func (p ImagePattern) MarshalText() ([]byte, error) { return []byte(p.Normalized), nil }

// String returns the normalized pattern.
func (p ImagePattern) String() string { return p.Normalized }

// CompileImagePattern validates and normalizes an image pattern.
func CompileImagePattern(pattern string) (ImagePattern, error) {
	if pattern == "" {
		return ImagePattern{}, fmt.Errorf("empty image pattern")
	}
	if strings.ContainsAny(pattern, " \t\r\n") {
		return ImagePattern{}, fmt.Errorf("image pattern %q contains white space", pattern)
	}
	// Validate the pattern as written first, so syntax errors name it.
	if _, err := compileGlob(pattern, true); err != nil {
		return ImagePattern{}, err
	}
	norm := normalizePattern(pattern)
	g, err := compileGlob(norm, true)
	if err != nil {
		return ImagePattern{}, err
	}
	name, digest, _ := strings.Cut(norm, "@")
	last := name[strings.LastIndexByte(name, '/')+1:]
	anyTag := digest == "" && !strings.Contains(last, ":") && !strings.Contains(pattern, "@")
	return ImagePattern{Pattern: pattern, Normalized: norm, AnyTag: anyTag, glob: g}, nil
}

// normalizePattern returns the normalized form of a valid pattern, or the
// pattern itself when it does not parse as a reference.
func normalizePattern(pattern string) string {
	if pattern == "**" || strings.HasPrefix(pattern, "**/") {
		return pattern
	}
	name, digest, hasDigest := strings.Cut(pattern, "@")
	toks := globTokens(name)
	if len(toks) == 0 {
		n, err := reference.ParseNormalizedNamed(name)
		if err != nil {
			return pattern
		}
		return joinDigest(n.String(), digest, hasDigest)
	}
	// Replace each glob token by a placeholder that is valid in every part
	// of a reference (domain, path, tag), parse, and put the tokens back.
	prefix := "zvq"
	for i := 0; strings.Contains(name, prefix); i++ {
		prefix = "zvq" + strconv.Itoa(i) + "x"
	}
	var b strings.Builder
	at := 0
	holders := make([]string, len(toks))
	for i, t := range toks {
		holders[i] = prefix + strconv.Itoa(i) + "q"
		b.WriteString(name[at:t[0]])
		b.WriteString(holders[i])
		at = t[1]
	}
	b.WriteString(name[at:])
	n, err := reference.ParseNormalizedNamed(b.String())
	if err != nil {
		return pattern
	}
	out := n.String()
	// Put back in reverse order so that "…1q" is not found inside "…11q".
	for i := len(toks) - 1; i >= 0; i-- {
		if strings.Count(out, holders[i]) != 1 {
			return pattern
		}
		out = strings.Replace(out, holders[i], name[toks[i][0]:toks[i][1]], 1)
	}
	return joinDigest(out, digest, hasDigest)
}

func joinDigest(name, digest string, has bool) string {
	if !has {
		return name
	}
	return name + "@" + digest
}

// globTokens returns the [start, end) byte ranges of the glob tokens of a
// valid pattern: runs of '*', '?', classes and quoted characters.
func globTokens(p string) [][2]int {
	var toks [][2]int
	for i := 0; i < len(p); {
		switch p[i] {
		case '*':
			j := i
			for j < len(p) && p[j] == '*' {
				j++
			}
			toks = append(toks, [2]int{i, j})
			i = j
		case '?':
			toks = append(toks, [2]int{i, i + 1})
			i++
		case '\\':
			toks = append(toks, [2]int{i, min(i+2, len(p))})
			i += 2
		case '[':
			j := i + 1
			if j < len(p) && p[j] == '^' {
				j++
			}
			for first := true; j < len(p); j++ {
				if p[j] == '\\' {
					j++
				} else if p[j] == ']' && !first {
					break
				}
				first = false
			}
			toks = append(toks, [2]int{i, min(j+1, len(p))})
			i = j + 1
		default:
			i++
		}
	}
	return toks
}

// Image is a container image reference normalized for matching.
type Image struct {
	// Ref is the normalized reference, e.g. "docker.io/library/nginx:latest",
	// or the reference as given when it does not parse.
	Ref string
	// Name is the repository, e.g. "docker.io/library/nginx"; "" when Ref
	// does not parse.
	Name   string
	Tag    string
	Digest string
}

// NormalizeImage normalizes a reference: "nginx" becomes
// "docker.io/library/nginx:latest"; a digest is kept and ":latest" is only
// added when there is neither tag nor digest. A reference that does not
// parse is returned as given.
func NormalizeImage(ref string) Image {
	n, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return Image{Ref: ref}
	}
	n = reference.TagNameOnly(n)
	img := Image{Ref: n.String(), Name: n.Name()}
	if t, ok := n.(reference.Tagged); ok {
		img.Tag = t.Tag()
	}
	if d, ok := n.(reference.Digested); ok {
		img.Digest = d.Digest().String()
	}
	return img
}

// candidates returns the strings a pattern may match for img.
func (img Image) candidates(anyTag bool) []string {
	c := []string{img.Ref}
	if img.Name == "" {
		return c
	}
	if img.Tag != "" && img.Digest != "" {
		c = append(c, img.Name+":"+img.Tag, img.Name+"@"+img.Digest)
	}
	if anyTag {
		c = append(c, img.Name)
	}
	return c
}

// MatchImage reports whether p matches the normalized image.
func (p ImagePattern) MatchImage(img Image) bool {
	for _, s := range img.candidates(p.AnyTag) {
		if p.glob.Match(s) {
			return true
		}
	}
	return false
}

// MatchImage compiles pattern and matches it against the reference image.
func MatchImage(pattern, image string) (bool, error) {
	p, err := CompileImagePattern(pattern)
	if err != nil {
		return false, err
	}
	return p.MatchImage(NormalizeImage(image)), nil
}
