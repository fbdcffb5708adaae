package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Limits on what Parse accepts.
const (
	// MaxFileSize is the largest configuration file accepted.
	MaxFileSize = 1 << 20
	// maxNodes bounds the YAML nodes visited, aliases expanded, so that an
	// alias bomb cannot make parsing slow.
	maxNodes = 100_000
	// maxLabelKey is containerd's limit on a label.
	maxLabelKey = 4096
	maxQueue    = 1 << 20
	// maxErrors bounds the problems reported for one file.
	maxErrors = 1000
)

// Field names, as written in the file.
var (
	topFields      = []string{"onError", "profiles", "alerts", "policies"}
	profilesFields = []string{"dir"}
	alertsFields   = []string{"file", "webhook"}
	webhookFields  = []string{"url", "minimumPriority", "timeout", "queue"}
	policyFields   = []string{"name", "match", "onError", "seccomp", "apparmor", "selinux", "monitor", "egress", "response"}
	matchFields    = []string{"images", "labels", "annotations", "namespaces"}
	apparmorFields = []string{"profile", "mode"}
	selinuxFields  = []string{"label", "mode"}
	monitorFields  = []string{"mode", "killAt", "kill", "alertOnly", "rules", "killEntrypoint"}
	egressFields   = []string{"mode", "allowPorts", "allowCIDRs", "denyCIDRFiles"}
	responseFields = append([]string{"forensicsDir", "info"}, priorityNames[:]...)
)

var (
	policyNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
	labelKeyRe   = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?$`)
	yamlLineRe   = regexp.MustCompile(`^yaml: line (\d+): `)
)

// Parse parses and validates configuration data; file names it in errors.
// It performs no file-system access: it is what Load runs after reading.
// All problems are returned together as *Errors.
func Parse(file string, data []byte) (*Config, error) {
	p := &parser{file: file}
	cfg := p.document(data)
	if err := p.errs.Err(); err != nil {
		return nil, err
	}
	cfg.File = file
	return cfg, nil
}

type parser struct {
	file     string
	errs     Errors
	nodes    int
	overflow bool
}

// entry is one key of a mapping.
type entry struct{ key, val *yaml.Node }

func (p *parser) pos(n *yaml.Node, field string) Pos {
	if n == nil {
		return Pos{File: p.file, Field: field}
	}
	return Pos{File: p.file, Line: n.Line, Column: n.Column, Field: field}
}

func (p *parser) errorf(n *yaml.Node, field, format string, args ...any) {
	p.add(p.pos(n, field).Errorf(format, args...))
}

// add records a problem; past maxErrors it records one last note.
func (p *parser) add(e Error) {
	switch n := len(p.errs.List); {
	case n < maxErrors:
		p.errs.Add(e)
	case n == maxErrors:
		p.errs.Add(Error{File: e.File, Line: e.Line, Column: e.Column, Msg: fmt.Sprintf("too many errors (more than %d); stopping", maxErrors)})
	}
}

// document parses the whole file.
func (p *parser) document(data []byte) *Config {
	cfg := &Config{OnError: OnErrorRefuse, Profiles: Profiles{Dir: DefaultProfilesDir}}
	if len(data) > MaxFileSize {
		p.errorf(nil, "", "file is larger than the %d bytes allowed", MaxFileSize)
		return cfg
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return cfg // empty file: no policies, the built-in default applies
		}
		p.yamlError(err)
		return cfg
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		p.errorf(&extra, "", "more than one YAML document; put everything in one")
	case !errors.Is(err, io.EOF):
		p.yamlError(err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return cfg
		}
		root = root.Content[0]
	}
	p.config(root, cfg)
	return cfg
}

// yamlError reports a syntax error, keeping the line the YAML library names.
func (p *parser) yamlError(err error) {
	msg := err.Error()
	line := 0
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	p.add(Error{File: p.file, Line: line, Msg: "invalid YAML: " + msg})
}

// deref follows aliases and counts the node against the budget. It returns
// nil once the budget is spent.
func (p *parser) deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	p.nodes++
	if p.nodes > maxNodes {
		if !p.overflow {
			p.overflow = true
			p.errorf(n, "", "document too large: more than %d values once aliases are expanded", maxNodes)
		}
		return nil
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "an unknown node"
}

func sub(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}

func idx(field string, i int) string { return fmt.Sprintf("%s[%d]", field, i) }

// keyField names a user-chosen key (a label key) in a field path.
func keyField(field, key string) string {
	for _, r := range key {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return field + "[" + strconv.Quote(key) + "]"
		}
	}
	return sub(field, key)
}

// mapping checks that n is a mapping (null counts as empty) and returns its
// entries. Keys outside known are reported with the nearest known name;
// with known nil every key is accepted. Duplicate keys are reported.
func (p *parser) mapping(n *yaml.Node, field string, known []string) (map[string]entry, []string, bool) {
	if n = p.deref(n); n == nil {
		return nil, nil, false
	}
	if isNull(n) {
		return map[string]entry{}, nil, true
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, field, "want a mapping, got %s", kindName(n))
		return nil, nil, false
	}
	m := make(map[string]entry, len(n.Content)/2)
	var order []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := p.deref(n.Content[i]), n.Content[i+1]
		if k == nil {
			return nil, nil, false
		}
		if k.Kind != yaml.ScalarNode || isNull(k) {
			p.errorf(k, field, "want a string key, got %s", kindName(k))
			continue
		}
		if k.Value == "<<" && k.ShortTag() == "!!merge" {
			p.errorf(k, field, "merge keys (<<) are not supported")
			continue
		}
		if prev, dup := m[k.Value]; dup {
			p.errorf(k, keyField(field, k.Value), "duplicate key %q (first at line %d)", k.Value, prev.key.Line)
			continue
		}
		if known != nil && !contains(known, k.Value) {
			p.errorf(k, keyField(field, k.Value), "unknown field %q%s", k.Value, hint(k.Value, known))
			continue
		}
		m[k.Value] = entry{k, v}
		order = append(order, k.Value)
	}
	return m, order, true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// hint suggests the known name nearest to s.
func hint(s string, known []string) string {
	best, bestD := "", 1<<30
	for _, k := range known {
		if d := levenshtein(strings.ToLower(s), strings.ToLower(k)); d < bestD {
			best, bestD = k, d
		}
	}
	if best != "" && (bestD <= 2 || bestD <= len(s)/3) {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return " (known fields: " + strings.Join(known, ", ") + ")"
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// seq checks that n is a list (null counts as empty) and returns its items.
func (p *parser) seq(n *yaml.Node, field string) ([]*yaml.Node, bool) {
	if n = p.deref(n); n == nil {
		return nil, false
	}
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, field, "want a list, got %s", kindName(n))
		return nil, false
	}
	return n.Content, true
}

// scalar returns the value of a non-null scalar.
func (p *parser) scalar(n *yaml.Node, field, want string) (*yaml.Node, bool) {
	if n = p.deref(n); n == nil {
		return nil, false
	}
	if n.Kind != yaml.ScalarNode || isNull(n) {
		p.errorf(n, field, "want %s, got %s", want, kindName(n))
		return nil, false
	}
	return n, true
}

// str returns a non-empty string.
func (p *parser) str(n *yaml.Node, field, want string) (string, *yaml.Node, bool) {
	s, ok := p.scalar(n, field, want)
	if !ok {
		return "", n, false
	}
	if s.Value == "" {
		p.errorf(s, field, "want %s, got an empty string", want)
		return "", s, false
	}
	if strings.ContainsFunc(s.Value, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		p.errorf(s, field, "control characters are not allowed in %q", s.Value)
		return "", s, false
	}
	return s.Value, s, true
}

// enum returns one of the allowed values.
func (p *parser) enum(n *yaml.Node, field string, allowed ...string) (string, bool) {
	want := strings.Join(allowed, ", ")
	s, ok := p.scalar(n, field, "one of "+want)
	if !ok {
		return "", false
	}
	if !contains(allowed, s.Value) {
		p.errorf(s, field, "unknown value %q (want %s)", s.Value, want)
		return "", false
	}
	return s.Value, true
}

func (p *parser) boolean(n *yaml.Node, field string) (bool, bool) {
	s, ok := p.scalar(n, field, "true or false")
	if !ok {
		return false, false
	}
	switch s.Value {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	p.errorf(s, field, "want true or false, got %q", s.Value)
	return false, false
}

func (p *parser) integer(n *yaml.Node, field, what string, lo, hi int) (int, bool) {
	want := fmt.Sprintf("an integer %s (%d-%d)", what, lo, hi)
	s, ok := p.scalar(n, field, want)
	if !ok {
		return 0, false
	}
	v, err := strconv.Atoi(s.Value)
	if err != nil || s.ShortTag() != "!!int" {
		p.errorf(s, field, "want %s, got %q", want, s.Value)
		return 0, false
	}
	if v < lo || v > hi {
		p.errorf(s, field, "%s %d out of range (%d-%d)", what, v, lo, hi)
		return 0, false
	}
	return v, true
}

func (p *parser) priority(n *yaml.Node, field string) (Priority, bool) {
	s, ok := p.scalar(n, field, "a priority ("+priorityWant+")")
	if !ok {
		return 0, false
	}
	pr, err := ParsePriority(s.Value)
	if err != nil {
		p.errorf(s, field, "%v", err)
		return 0, false
	}
	return pr, true
}

// absPath returns a clean absolute path.
func (p *parser) absPath(n *yaml.Node, field string) (string, bool) {
	s, sn, ok := p.str(n, field, "an absolute path")
	if !ok {
		return "", false
	}
	if !filepath.IsAbs(s) {
		p.errorf(sn, field, "path %q is not absolute", s)
		return "", false
	}
	return filepath.Clean(s), true
}

func (p *parser) pathList(n *yaml.Node, field string) []string {
	items, _ := p.seq(n, field)
	var out []string
	for i, it := range items {
		if s, ok := p.absPath(it, idx(field, i)); ok {
			out = append(out, s)
		}
	}
	return out
}

// config parses the top-level mapping.
func (p *parser) config(n *yaml.Node, cfg *Config) {
	m, _, ok := p.mapping(n, "", topFields)
	if !ok {
		return
	}
	if e, ok := m["onError"]; ok {
		if v, ok := p.enum(e.val, "onError", string(OnErrorRefuse), string(OnErrorAllow)); ok {
			cfg.OnError = OnError(v)
			cfg.OnErrorPos = p.pos(e.val, "onError")
		}
	}
	if e, ok := m["profiles"]; ok {
		cfg.Profiles.Pos = p.pos(e.val, "profiles")
		if pm, _, ok := p.mapping(e.val, "profiles", profilesFields); ok {
			if d, ok := pm["dir"]; ok {
				if s, ok := p.absPath(d.val, "profiles.dir"); ok {
					cfg.Profiles.Dir = s
					cfg.Profiles.Pos = p.pos(d.val, "profiles.dir")
				}
			}
		}
	}
	if e, ok := m["alerts"]; ok {
		p.alerts(e.val, &cfg.Alerts)
	}
	if e, ok := m["policies"]; ok {
		items, _ := p.seq(e.val, "policies")
		names := map[string]*Policy{}
		var matchAll *Policy
		for i, it := range items {
			field := idx("policies", i)
			pol := p.policy(it, field, cfg)
			if pol == nil {
				continue
			}
			if pol.Name != "" {
				if prev, dup := names[pol.Name]; dup {
					p.add(pol.namePos.Errorf("duplicate policy name %q (first at line %d)", pol.Name, prev.namePos.Line))
				} else {
					names[pol.Name] = pol
				}
			}
			if matchAll != nil {
				p.errorf(it, field, "policy %q is unreachable: policy %q (line %d) before it matches every container", pol.Name, matchAll.Name, matchAll.Pos.Line)
			} else if pol.Match.Empty() && pol.Match.Pos.Line > 0 {
				matchAll = pol
			}
			cfg.Policies = append(cfg.Policies, pol)
		}
	}
}

func (p *parser) alerts(n *yaml.Node, a *Alerts) {
	a.Pos = p.pos(n, "alerts")
	m, _, ok := p.mapping(n, "alerts", alertsFields)
	if !ok {
		return
	}
	if e, ok := m["file"]; ok {
		a.File, _ = p.absPath(e.val, "alerts.file")
	}
	e, ok := m["webhook"]
	if !ok {
		return
	}
	const field = "alerts.webhook"
	w := &Webhook{MinimumPriority: PriorityDebug, Timeout: DefaultWebhookTimeout, Queue: DefaultWebhookQueue, Pos: p.pos(e.val, field)}
	wm, _, ok := p.mapping(e.val, field, webhookFields)
	if !ok {
		return
	}
	if u, ok := wm["url"]; ok {
		if s, sn, ok := p.str(u.val, field+".url", "an http or https URL"); ok {
			pu, err := url.Parse(s)
			switch {
			case err != nil:
				p.errorf(sn, field+".url", "invalid URL %q: %v", s, errors.Unwrap(err))
			case pu.Scheme != "http" && pu.Scheme != "https":
				p.errorf(sn, field+".url", "URL %q: want scheme http or https", s)
			case pu.Host == "":
				p.errorf(sn, field+".url", "URL %q has no host", s)
			default:
				w.URL = s
			}
		}
	} else {
		p.errorf(e.val, field, "url is required")
	}
	if v, ok := wm["minimumPriority"]; ok {
		w.MinimumPriority, _ = p.priority(v.val, field+".minimumPriority")
	}
	if v, ok := wm["timeout"]; ok {
		f := field + ".timeout"
		if s, ok := p.scalar(v.val, f, "a duration such as 2s"); ok {
			d, err := time.ParseDuration(s.Value)
			switch {
			case err != nil:
				p.errorf(s, f, "want a duration such as 2s or 500ms, got %q", s.Value)
			case d <= 0:
				p.errorf(s, f, "duration %s must be positive", s.Value)
			default:
				w.Timeout = d
			}
		}
	}
	if v, ok := wm["queue"]; ok {
		w.Queue, _ = p.integer(v.val, field+".queue", "queue length", 1, maxQueue)
	}
	a.Webhook = w
}

// policy parses one item of policies.
func (p *parser) policy(n *yaml.Node, field string, cfg *Config) *Policy {
	n = p.deref(n)
	if n == nil {
		return nil
	}
	pol := &Policy{
		OnError:    cfg.OnError,
		OnErrorPos: cfg.OnErrorPos,
		Monitor:    Monitor{Mode: ModeEnforce, KillAt: PriorityCritical},
		Egress:     Egress{Mode: ModeOff},
		Pos:        p.pos(n, field),
	}
	pol.Monitor.Pos = p.pos(n, sub(field, "monitor"))
	pol.Egress.Pos = p.pos(n, sub(field, "egress"))
	m, _, ok := p.mapping(n, field, policyFields)
	if !ok {
		return nil
	}
	if isNull(n) {
		p.errorf(n, field, "empty policy: want name and match")
		return nil
	}
	if e, ok := m["name"]; ok {
		if s, sn, ok := p.str(e.val, sub(field, "name"), "a policy name"); ok {
			if policyNameRe.MatchString(s) {
				pol.Name, pol.namePos = s, p.pos(sn, sub(field, "name"))
			} else {
				p.errorf(sn, sub(field, "name"), "invalid policy name %q (want letters, digits, '.', '_' or '-', starting with a letter or digit, at most 63)", s)
			}
		}
	} else {
		p.errorf(n, sub(field, "name"), "name is required")
	}
	if e, ok := m["match"]; ok {
		p.match(e.val, sub(field, "match"), &pol.Match)
	} else {
		p.errorf(n, sub(field, "match"), "match is required (write match: {} to select every container)")
	}
	if e, ok := m["onError"]; ok {
		if v, ok := p.enum(e.val, sub(field, "onError"), string(OnErrorRefuse), string(OnErrorAllow)); ok {
			pol.OnError = OnError(v)
			pol.OnErrorPos = p.pos(e.val, sub(field, "onError"))
		}
	}
	if e, ok := m["seccomp"]; ok {
		pol.Seccomp = p.seccomp(e.val, sub(field, "seccomp"), cfg.Profiles.Dir)
	}
	if e, ok := m["apparmor"]; ok {
		pol.AppArmor = p.apparmor(e.val, sub(field, "apparmor"), cfg.Profiles.Dir)
	}
	if e, ok := m["selinux"]; ok {
		pol.SELinux = p.selinux(e.val, sub(field, "selinux"))
	}
	if e, ok := m["monitor"]; ok {
		p.monitor(e.val, sub(field, "monitor"), &pol.Monitor)
	}
	if e, ok := m["egress"]; ok {
		p.egress(e.val, sub(field, "egress"), &pol.Egress)
	}
	if e, ok := m["response"]; ok {
		pol.Response = p.response(e.val, sub(field, "response"))
	}
	return pol
}

func (p *parser) match(n *yaml.Node, field string, mt *Match) {
	if d := p.deref(n); d != nil && isNull(d) {
		p.errorf(d, field, "match is empty (write match: {} to select every container)")
		return
	}
	mt.Pos = p.pos(p.deref(n), field)
	m, _, ok := p.mapping(n, field, matchFields)
	if !ok {
		mt.Pos.Line = 0 // not a valid match: never counts as match-all
		return
	}
	if e, ok := m["images"]; ok {
		f := sub(field, "images")
		items, ok := p.seq(e.val, f)
		for i, it := range items {
			s, sn, ok := p.str(it, idx(f, i), "an image pattern")
			if !ok {
				continue
			}
			ip, err := CompileImagePattern(s)
			if err != nil {
				p.errorf(sn, idx(f, i), "%v", err)
				continue
			}
			ip.Pos = p.pos(sn, idx(f, i))
			mt.Images = append(mt.Images, ip)
		}
		if ok && len(items) == 0 {
			p.errorf(p.deref(e.val), f, "empty list matches no image; remove the field to match every image")
		}
	}
	if e, ok := m["labels"]; ok {
		mt.Labels = p.selectors(e.val, sub(field, "labels"))
	}
	if e, ok := m["annotations"]; ok {
		mt.Annotations = p.selectors(e.val, sub(field, "annotations"))
	}
	if e, ok := m["namespaces"]; ok {
		f := sub(field, "namespaces")
		items, ok := p.seq(e.val, f)
		for i, it := range items {
			if g, ok := p.glob(it, idx(f, i), "a namespace"); ok {
				mt.Namespaces = append(mt.Namespaces, g)
			}
		}
		if ok && len(items) == 0 {
			p.errorf(p.deref(e.val), f, "empty list matches no namespace; remove the field to match every namespace")
		}
	}
}

func (p *parser) glob(n *yaml.Node, field, what string) (Glob, bool) {
	s, sn, ok := p.str(n, field, what+" or pattern")
	if !ok {
		return Glob{}, false
	}
	g, err := CompileGlob(s)
	if err != nil {
		p.errorf(sn, field, "%v", err)
		return Glob{}, false
	}
	return g, true
}

// selectors parses a key: value-pattern mapping.
func (p *parser) selectors(n *yaml.Node, field string) []Selector {
	m, order, ok := p.mapping(n, field, nil)
	if !ok {
		return nil
	}
	var out []Selector
	for _, k := range order {
		e := m[k]
		f := keyField(field, k)
		switch {
		case IsGlob(k):
			p.errorf(e.key, f, "invalid key %q: keys are literal, patterns are allowed in values only", k)
			continue
		case len(k) > maxLabelKey || !labelKeyRe.MatchString(k):
			p.errorf(e.key, f, "invalid key %q (want letters, digits, '.', '_', '-' and '/', starting and ending with a letter or digit)", k)
			continue
		}
		s, ok := p.scalar(e.val, f, "a value or pattern")
		if !ok {
			continue
		}
		g, err := CompileGlob(s.Value)
		if err != nil {
			p.errorf(s, f, "%v", err)
			continue
		}
		out = append(out, Selector{Key: k, Value: g, Pos: p.pos(e.key, f)})
	}
	return out
}

func (p *parser) seccomp(n *yaml.Node, field, dir string) *Seccomp {
	s, sn, ok := p.str(n, field, "runtime/default, hardened, unconfined or a profile file")
	if !ok {
		return nil
	}
	sc := &Seccomp{Profile: s, Pos: p.pos(sn, field)}
	switch {
	case s == ProfileRuntimeDefault || s == SeccompHardened || s == ProfileUnconfined:
	case filepath.IsAbs(s):
		sc.File = filepath.Clean(s)
	case filepath.IsLocal(s):
		f := s
		if filepath.Ext(f) == "" {
			f += ".json"
		}
		sc.File = filepath.Join(dir, "seccomp", f)
	default:
		p.errorf(sn, field, "profile %q: want runtime/default, hardened, unconfined, an absolute path or a path inside %s", s, filepath.Join(dir, "seccomp"))
		return nil
	}
	return sc
}

func (p *parser) apparmor(n *yaml.Node, field, dir string) *AppArmor {
	a := &AppArmor{Mode: ProfileBestEffort}
	var pn *yaml.Node
	if d := p.deref(n); d != nil && d.Kind == yaml.ScalarNode && !isNull(d) {
		pn = d // shorthand: apparmor: <profile>
		a.Pos = p.pos(d, field)
	} else {
		a.Pos = p.pos(d, field)
		m, _, ok := p.mapping(n, field, apparmorFields)
		if !ok {
			return nil
		}
		e, ok := m["profile"]
		if !ok {
			p.errorf(d, sub(field, "profile"), "profile is required")
			return nil
		}
		pn = e.val
		if e, ok := m["mode"]; ok {
			v, ok := p.enum(e.val, sub(field, "mode"), string(ProfileRequired), string(ProfileBestEffort), string(ProfileEmulate))
			if !ok {
				return nil
			}
			a.Mode = ProfileMode(v)
		}
		field = sub(field, "profile")
	}
	s, sn, ok := p.str(pn, field, "an AppArmor profile name")
	if !ok {
		return nil
	}
	a.Profile = s
	switch {
	case s == ProfileRuntimeDefault || s == ProfileUnconfined:
	case filepath.IsLocal(s) && !strings.ContainsAny(s, " \t/"):
		a.File = filepath.Join(dir, "apparmor", s)
	default:
		p.errorf(sn, field, "profile %q: want runtime/default, unconfined or a profile name (its source is %s/<name>)", s, filepath.Join(dir, "apparmor"))
		return nil
	}
	return a
}

func (p *parser) selinux(n *yaml.Node, field string) *SELinux {
	se := &SELinux{Mode: ProfileBestEffort}
	var ln *yaml.Node
	if d := p.deref(n); d != nil && d.Kind == yaml.ScalarNode && !isNull(d) {
		ln = d
		se.Pos = p.pos(d, field)
	} else {
		se.Pos = p.pos(d, field)
		m, _, ok := p.mapping(n, field, selinuxFields)
		if !ok {
			return nil
		}
		e, ok := m["label"]
		if !ok {
			p.errorf(d, sub(field, "label"), "label is required")
			return nil
		}
		ln = e.val
		if e, ok := m["mode"]; ok {
			v, ok := p.enum(e.val, sub(field, "mode"), string(ProfileRequired), string(ProfileBestEffort))
			if !ok {
				return nil
			}
			se.Mode = ProfileMode(v)
		}
		field = sub(field, "label")
	}
	s, sn, ok := p.str(ln, field, "an SELinux label user:role:type[:level]")
	if !ok {
		return nil
	}
	parts := strings.SplitN(s, ":", 4)
	if len(parts) < 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" || strings.ContainsAny(s, " \t") ||
		(len(parts) == 4 && parts[3] == "") {
		p.errorf(sn, field, "invalid SELinux label %q (want user:role:type[:level])", s)
		return nil
	}
	se.Label = s
	return se
}

var modes = []string{string(ModeEnforce), string(ModeAudit), string(ModeOff)}

func (p *parser) monitor(n *yaml.Node, field string, mo *Monitor) {
	mo.Pos = p.pos(p.deref(n), field)
	m, _, ok := p.mapping(n, field, monitorFields)
	if !ok {
		return
	}
	if e, ok := m["mode"]; ok {
		if v, ok := p.enum(e.val, sub(field, "mode"), modes...); ok {
			mo.Mode = Mode(v)
		}
	}
	if e, ok := m["killAt"]; ok {
		if v, ok := p.priority(e.val, sub(field, "killAt")); ok {
			mo.KillAt = v
		}
	}
	mo.Kill = p.ruleRefs(m, "kill", field)
	mo.AlertOnly = p.ruleRefs(m, "alertOnly", field)
	if e, ok := m["alertOnly"]; ok {
		for i, it := range p.itemsQuiet(e.val) {
			if it.Kind == yaml.ScalarNode && contains(mo.Kill, it.Value) {
				p.errorf(it, idx(sub(field, "alertOnly"), i), "rule %q is also in kill", it.Value)
			}
		}
	}
	if e, ok := m["rules"]; ok {
		mo.Rules = p.pathList(e.val, sub(field, "rules"))
	}
	if e, ok := m["killEntrypoint"]; ok {
		mo.KillEntrypoint, _ = p.boolean(e.val, sub(field, "killEntrypoint"))
	}
}

// itemsQuiet returns the scalar items of a list without reporting anything
// (the list was already checked).
func (p *parser) itemsQuiet(n *yaml.Node) []*yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, it := range n.Content {
		for j := 0; it != nil && it.Kind == yaml.AliasNode && j < 100; j++ {
			it = it.Alias
		}
		out[i] = it
	}
	return out
}

// ruleRefs parses a list of rule names or "tag:<tag>".
func (p *parser) ruleRefs(m map[string]entry, key, field string) []string {
	e, ok := m[key]
	if !ok {
		return nil
	}
	f := sub(field, key)
	items, _ := p.seq(e.val, f)
	var out []string
	for i, it := range items {
		s, sn, ok := p.str(it, idx(f, i), "a rule name or tag:<tag>")
		if !ok {
			continue
		}
		if t, isTag := strings.CutPrefix(s, "tag:"); isTag && strings.TrimSpace(t) == "" {
			p.errorf(sn, idx(f, i), "empty tag in %q", s)
			continue
		}
		out = append(out, s)
	}
	return out
}

func (p *parser) egress(n *yaml.Node, field string, eg *Egress) {
	eg.Pos = p.pos(p.deref(n), field)
	eg.Mode = ModeEnforce
	m, _, ok := p.mapping(n, field, egressFields)
	if !ok {
		return
	}
	if e, ok := m["mode"]; ok {
		if v, ok := p.enum(e.val, sub(field, "mode"), modes...); ok {
			eg.Mode = Mode(v)
		}
	}
	if e, ok := m["allowPorts"]; ok {
		f := sub(field, "allowPorts")
		items, _ := p.seq(e.val, f)
		for i, it := range items {
			if v, ok := p.integer(it, idx(f, i), "port", 1, 65535); ok {
				eg.AllowPorts = append(eg.AllowPorts, uint16(v))
			}
		}
	}
	if e, ok := m["allowCIDRs"]; ok {
		f := sub(field, "allowCIDRs")
		items, _ := p.seq(e.val, f)
		for i, it := range items {
			if pr, ok := p.cidr(it, idx(f, i)); ok {
				eg.AllowCIDRs = append(eg.AllowCIDRs, pr)
			}
		}
	}
	if e, ok := m["denyCIDRFiles"]; ok {
		eg.DenyCIDRFiles = p.pathList(e.val, sub(field, "denyCIDRFiles"))
	}
}

func (p *parser) cidr(n *yaml.Node, field string) (netip.Prefix, bool) {
	s, sn, ok := p.str(n, field, "a CIDR such as 10.0.0.0/8")
	if !ok {
		return netip.Prefix{}, false
	}
	pr, err := netip.ParsePrefix(s)
	if err != nil {
		if a, aerr := netip.ParseAddr(s); aerr == nil {
			p.errorf(sn, field, "%q is an address, not a CIDR (did you mean %s/%d?)", s, s, a.BitLen())
		} else {
			p.errorf(sn, field, "invalid CIDR %q (want e.g. 10.0.0.0/8 or fd00::/8)", s)
		}
		return netip.Prefix{}, false
	}
	if pr.Addr().Zone() != "" {
		p.errorf(sn, field, "CIDR %q must not have a zone", s)
		return netip.Prefix{}, false
	}
	if m := pr.Masked(); m != pr {
		p.errorf(sn, field, "CIDR %q has host bits set (did you mean %s?)", s, m)
		return netip.Prefix{}, false
	}
	return pr, true
}

var actions = []string{string(ActionAlert), string(ActionKill), string(ActionIsolate), string(ActionForensics)}

func (p *parser) response(n *yaml.Node, field string) *Response {
	r := &Response{Actions: map[Priority][]Action{}, Pos: p.pos(p.deref(n), field)}
	m, order, ok := p.mapping(n, field, responseFields)
	if !ok {
		return nil
	}
	seen := map[Priority]string{}
	for _, k := range order {
		e := m[k]
		f := sub(field, k)
		if k == "forensicsDir" {
			r.ForensicsDir, _ = p.absPath(e.val, f)
			continue
		}
		pr, _ := ParsePriority(k)
		if prev, dup := seen[pr]; dup {
			p.errorf(e.key, f, "%s repeats %s", k, prev)
			continue
		}
		seen[pr] = k
		items, ok := p.seq(e.val, f)
		if !ok {
			continue
		}
		list := []Action{}
		for i, it := range items {
			if v, ok := p.enum(it, idx(f, i), actions...); ok {
				list = append(list, Action(v))
			}
		}
		r.Actions[pr] = list
	}
	if _, ok := m["forensicsDir"]; !ok {
		r.ForensicsDir = DefaultForensicsDir
	}
	return r
}
