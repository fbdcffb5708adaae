package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-dev/vigil/monitor/rules/condition"
)

// Source is one rules file: a name for messages (usually its path) and its
// YAML content.
type Source struct {
	Name string
	Data []byte
}

// itemCtx locates an item for messages.
type itemCtx struct {
	file string
	line int
	item string // "rule 'Name'", "macro 'name'", "list 'name'"
}

// entry is an exception's fields, comps or value: a scalar or a sequence.
type entry struct {
	valid  bool
	isList bool
	item   string
	items  []entry
}

type exceptionInfo struct {
	name          string
	fields, comps entry
	values        []entry
	ctx           itemCtx
}

type listInfo struct {
	name  string
	items []string
	ctx   itemCtx
}

type macroInfo struct {
	name     string
	cond     string
	ctx      itemCtx
	condLine int
}

type ruleInfo struct {
	name, cond, output, desc, source string
	priority                         Priority
	tags                             []string
	enabled, warnEvttypes, skipUnkn  bool
	exceptions                       []*exceptionInfo
	ctx                              itemCtx
	condLine                         int
	unknownSource                    bool
}

// ruleUpdate is an append or selective replace of an existing rule.
type ruleUpdate struct {
	name                 string
	cond, output, desc   *string
	tags                 []string
	hasTags              bool
	exceptions           []*exceptionInfo
	hasExceptions        bool
	priority             *Priority
	enabled, warn, skipU *bool
	ctx                  itemCtx
}

// collector gathers the items of all files in order, applying append,
// override and redefinition as Falco's rule_loader::collector does.
type collector struct {
	lists     map[string]*listInfo
	listOrder []*listInfo
	macros    map[string]*macroInfo
	macOrder  []*macroInfo
	rules     map[string]*ruleInfo
	ruleOrder []*ruleInfo
	errs      Errors
	warns     []Warning
}

func newCollector() *collector {
	return &collector{
		lists:  map[string]*listInfo{},
		macros: map[string]*macroInfo{},
		rules:  map[string]*ruleInfo{},
	}
}

func (col *collector) errorf(ctx itemCtx, sentinel error, format string, args ...any) {
	col.errs = append(col.errs, &Error{File: ctx.file, Line: ctx.line, Item: ctx.item, Msg: fmt.Sprintf(format, args...), Err: sentinel})
}

func (col *collector) warnf(ctx itemCtx, format string, args ...any) {
	col.warns = append(col.warns, Warning{File: ctx.file, Line: ctx.line, Item: ctx.item, Msg: fmt.Sprintf(format, args...)})
}

// itemError aborts the reading of one item.
type itemError struct{ err *Error }

func (r *fileReader) fail(ctx itemCtx, line int, sentinel error, format string, args ...any) {
	if line == 0 {
		line = ctx.line
	}
	panic(itemError{&Error{File: ctx.file, Line: line, Item: ctx.item, Msg: fmt.Sprintf(format, args...), Err: sentinel}})
}

type fileReader struct {
	col  *collector
	name string
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

func (col *collector) readFile(src Source) {
	r := &fileReader{col: col, name: src.Name}
	dec := yaml.NewDecoder(bytes.NewReader(src.Data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			line := 0
			if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
				line, _ = strconv.Atoi(m[1])
			}
			col.errs = append(col.errs, &Error{File: src.Name, Line: line, Msg: err.Error(), Err: ErrYAML})
			return
		}
		if len(doc.Content) == 0 {
			continue
		}
		root := deref(doc.Content[0])
		if isNull(root) {
			continue
		}
		if root.Kind != yaml.SequenceNode {
			col.errs = append(col.errs, &Error{File: src.Name, Line: root.Line, Msg: "Rules content is not yaml array of objects", Err: ErrYAML})
			return
		}
		for _, it := range root.Content {
			it = deref(it)
			if isNull(it) {
				continue
			}
			r.readItem(it)
		}
	}
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

func mapGet(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return deref(m.Content[i+1])
		}
	}
	return nil
}

func (r *fileReader) readItem(item *yaml.Node) {
	base := itemCtx{file: r.name, line: item.Line}
	defer func() {
		if rec := recover(); rec != nil {
			ie, ok := rec.(itemError)
			if !ok {
				panic(rec)
			}
			r.col.errs = append(r.col.errs, ie.err)
		}
	}()
	if item.Kind != yaml.MappingNode {
		r.fail(base, 0, ErrInvalidItem, "Unexpected element type. Each element should be a yaml associative array.")
	}
	switch {
	case mapGet(item, "required_engine_version") != nil:
		base.item = "required_engine_version"
		v := r.scalar(item, "required_engine_version", base, false)
		if _, err := strconv.ParseUint(v, 10, 32); err != nil && !semverRE.MatchString(v) {
			r.fail(base, 0, ErrInvalidItem, "Unable to parse engine version '%s' as a semver string. Expected \"x.y.z\" semver format.", v)
		}
	case mapGet(item, "required_plugin_versions") != nil:
		base.item = "required_plugin_versions"
		n := mapGet(item, "required_plugin_versions")
		if n.Kind != yaml.SequenceNode {
			r.fail(base, n.Line, ErrInvalidItem, "Value of required_plugin_versions must be a sequence")
		}
		r.col.warnf(base, "required_plugin_versions ignored: vigil evaluates only the syscall source and loads no Falco plugins")
	case mapGet(item, "list") != nil:
		r.readList(item, base)
	case mapGet(item, "macro") != nil:
		r.readMacro(item, base)
	case mapGet(item, "rule") != nil:
		r.readRule(item, base)
	default:
		r.col.warnf(base, "Unknown top level item")
	}
}

var semverRE = regexp.MustCompile(`^\d+\.\d+\.\d+$`)

// scalar decodes a required (or optional) non-empty scalar value.
func (r *fileReader) scalar(item *yaml.Node, key string, ctx itemCtx, optional bool) string {
	v, _, _ := r.scalarNode(item, key, ctx, optional)
	return v
}

func (r *fileReader) scalarNode(item *yaml.Node, key string, ctx itemCtx, optional bool) (string, *yaml.Node, bool) {
	n := mapGet(item, key)
	if n == nil {
		if optional {
			return "", nil, false
		}
		r.fail(ctx, 0, ErrInvalidItem, "Item has no mapping for key '%s'", key)
	}
	if isNull(n) {
		r.fail(ctx, n.Line, ErrInvalidItem, "Mapping for key '%s' is empty", key)
	}
	if n.Kind != yaml.ScalarNode {
		r.fail(ctx, n.Line, ErrInvalidItem, "Value for key '%s' is not a scalar value", key)
	}
	if n.Value == "" {
		r.fail(ctx, n.Line, ErrInvalidItem, "Value for key '%s' must be non-empty", key)
	}
	return n.Value, n, true
}

func (r *fileReader) boolVal(item *yaml.Node, key string, ctx itemCtx) (bool, bool) {
	v, n, ok := r.scalarNode(item, key, ctx, true)
	if !ok {
		return false, false
	}
	switch strings.ToLower(v) {
	case "true", "yes", "on", "y":
		return true, true
	case "false", "no", "off", "n":
		return false, true
	}
	r.fail(ctx, n.Line, ErrInvalidItem, "Can't decode YAML scalar value for key '%s': %q is not a boolean", key, v)
	return false, false
}

func (r *fileReader) seqOfScalars(item *yaml.Node, key string, ctx itemCtx) ([]string, bool) {
	n := mapGet(item, key)
	if n == nil {
		return nil, false
	}
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.SequenceNode {
		r.fail(ctx, n.Line, ErrInvalidItem, "Value for key '%s' is not a sequence", key)
	}
	out := make([]string, 0, len(n.Content))
	for _, v := range n.Content {
		v = deref(v)
		if v.Kind != yaml.ScalarNode {
			r.fail(ctx, v.Line, ErrInvalidItem, "sequence value for key '%s' is not scalar", key)
		}
		out = append(out, v.Value)
	}
	return out, true
}

func (r *fileReader) checkKeys(item *yaml.Node, ctx itemCtx, allowed ...string) {
	for i := 0; i+1 < len(item.Content); i += 2 {
		k := item.Content[i].Value
		ok := false
		for _, a := range allowed {
			if a == k {
				ok = true
				break
			}
		}
		if !ok {
			r.col.warnf(itemCtx{file: ctx.file, line: item.Content[i].Line, item: ctx.item}, "unknown key '%s' ignored", k)
		}
	}
}

// overrides decodes `override: {key: append|replace}`.
func (r *fileReader) overrides(item *yaml.Node, ctx itemCtx, canAppend, canReplace []string) (app, rep map[string]bool) {
	app, rep = map[string]bool{}, map[string]bool{}
	n := mapGet(item, "override")
	if n == nil {
		return app, rep
	}
	if n.Kind != yaml.MappingNode {
		r.fail(ctx, n.Line, ErrInvalidItem, "Value for key 'override' must be a mapping")
	}
	in := func(l []string, k string) bool {
		for _, x := range l {
			if x == k {
				return true
			}
		}
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, deref(n.Content[i+1])
		switch v.Value {
		case "append":
			if !in(canAppend, k) {
				r.fail(ctx, n.Content[i].Line, ErrInvalidItem, "Key '%s' cannot be appended to, use 'replace' instead", k)
			}
			app[k] = true
		case "replace":
			if !in(canReplace, k) {
				r.fail(ctx, n.Content[i].Line, ErrInvalidItem, "Key '%s' cannot be replaced", k)
			}
			rep[k] = true
		default:
			var allowed []string
			if in(canAppend, k) {
				allowed = append(allowed, "append")
			}
			if in(canReplace, k) {
				allowed = append(allowed, "replace")
			}
			r.fail(ctx, v.Line, ErrInvalidItem, "Invalid override operation for key '%s': '%s'. Allowed values are: %s", k, v.Value, strings.Join(allowed, " "))
		}
	}
	return app, rep
}

const (
	errOverrideAppend = "Keys 'override' and 'append: true' cannot be used together. Add an 'append' entry (e.g. 'condition: append') under 'override' instead."
	warnAppend        = "'append' key is deprecated. Add an 'append' entry (e.g. 'condition: append') under 'override' instead."
	warnEnabled       = "The standalone 'enabled' key usage is deprecated. The correct approach requires also a 'replace' entry under the 'override' key (i.e. 'enabled: replace')."
)

func (r *fileReader) readList(item *yaml.Node, ctx itemCtx) {
	ctx.item = "list"
	name := r.scalar(item, "list", ctx, false)
	ctx.item = "list '" + name + "'"
	r.checkKeys(item, ctx, "list", "items", "append", "override")
	if !isBareName(name) {
		r.col.warnf(ctx, "List has an invalid name. List names should match a regular expression: ([^()\"'[:space:]=,]+)")
	}
	items, ok := r.seqOfScalars(item, "items", ctx)
	if !ok {
		r.fail(ctx, 0, ErrInvalidItem, "Item has no mapping for key 'items'")
	}
	appendFlag, _ := r.boolVal(item, "append", ctx)
	if appendFlag {
		r.col.warnf(ctx, warnAppend)
	}
	app, rep := r.overrides(item, ctx, []string{"items"}, []string{"items"})
	if appendFlag && len(app)+len(rep) > 0 {
		r.fail(ctx, 0, ErrInvalidItem, errOverrideAppend)
	}
	l := &listInfo{name: name, items: items, ctx: ctx}
	if appendFlag || app["items"] {
		prev := r.col.lists[name]
		if prev == nil {
			r.fail(ctx, 0, ErrUndefined, "List has 'append' key or an append override but no list by that name already exists")
		}
		prev.items = append(prev.items, items...)
		return
	}
	r.col.defineList(l)
}

func (col *collector) defineList(l *listInfo) {
	if prev := col.lists[l.name]; prev != nil {
		*prev = *l
		return
	}
	col.lists[l.name] = l
	col.listOrder = append(col.listOrder, l)
}

func (r *fileReader) readMacro(item *yaml.Node, ctx itemCtx) {
	ctx.item = "macro"
	name := r.scalar(item, "macro", ctx, false)
	ctx.item = "macro '" + name + "'"
	r.checkKeys(item, ctx, "macro", "condition", "append", "override")
	if identLen(name) != len(name) {
		r.col.warnf(ctx, "Macro has an invalid name. Macro names should match a regular expression: ([a-zA-Z]+[a-zA-Z0-9_]*)")
	}
	cond, cn, _ := r.scalarNode(item, "condition", ctx, false)
	appendFlag, _ := r.boolVal(item, "append", ctx)
	if appendFlag {
		r.col.warnf(ctx, warnAppend)
	}
	app, rep := r.overrides(item, ctx, []string{"condition"}, []string{"condition"})
	if appendFlag && len(app)+len(rep) > 0 {
		r.fail(ctx, 0, ErrInvalidItem, errOverrideAppend)
	}
	if appendFlag || app["condition"] {
		prev := r.col.macros[name]
		if prev == nil {
			r.fail(ctx, 0, ErrUndefined, "Macro has 'append' key or an append override but no macro by that name already exists")
		}
		prev.cond += " " + cond
		return
	}
	m := &macroInfo{name: name, cond: cond, ctx: ctx, condLine: cn.Line}
	if prev := r.col.macros[name]; prev != nil {
		*prev = *m
		return
	}
	r.col.macros[name] = m
	r.col.macOrder = append(r.col.macOrder, m)
}

var ruleKeys = []string{"rule", "condition", "output", "desc", "priority", "tags", "enabled", "exceptions",
	"source", "append", "override", "warn_evttypes", "skip-if-unknown-filter", "required_engine_version"}

func (r *fileReader) readRule(item *yaml.Node, ctx itemCtx) {
	ctx.item = "rule"
	name := r.scalar(item, "rule", ctx, false)
	ctx.item = "rule '" + name + "'"
	r.checkKeys(item, ctx, ruleKeys...)
	appendFlag, _ := r.boolVal(item, "append", ctx)
	if appendFlag {
		r.col.warnf(ctx, warnAppend)
	}
	canAppend := []string{"condition", "output", "desc", "tags", "exceptions"}
	canReplace := []string{"condition", "output", "desc", "priority", "tags", "exceptions", "enabled", "warn_evttypes", "skip-if-unknown-filter"}
	app, rep := r.overrides(item, ctx, canAppend, canReplace)
	if appendFlag && len(app)+len(rep) > 0 {
		r.fail(ctx, 0, ErrInvalidItem, errOverrideAppend)
	}
	has := func(k string) bool { return mapGet(item, k) != nil }

	switch {
	case len(app)+len(rep) > 0:
		expected := map[string]bool{}
		for _, k := range canReplace {
			if has(k) {
				expected[k] = true
			}
		}
		for _, ops := range []struct {
			set  map[string]bool
			verb string
		}{{app, "append"}, {rep, "replace"}} {
			if len(ops.set) == 0 {
				continue
			}
			u := &ruleUpdate{name: name, ctx: ctx}
			for k := range ops.set {
				if !expected[k] {
					r.fail(ctx, 0, ErrInvalidItem, "An %s override for '%s' was specified but '%s' is not defined", ops.verb, k, k)
				}
				delete(expected, k)
				r.decodeUpdate(item, k, u, ctx, ops.verb == "append")
			}
			if ops.verb == "append" {
				r.col.appendRule(u)
			} else {
				r.col.replaceRule(u)
			}
		}
		for k := range expected {
			r.fail(ctx, mapGet(item, k).Line, ErrInvalidItem, "Unexpected key '%s': no corresponding entry under 'override' is defined.", k)
		}
	case appendFlag:
		u := &ruleUpdate{name: name, ctx: ctx}
		if has("condition") {
			r.decodeUpdate(item, "condition", u, ctx, true)
		}
		if has("exceptions") {
			r.decodeUpdate(item, "exceptions", u, ctx, true)
		}
		r.col.appendRule(u)
	case !has("condition") && !has("output") && !has("desc") && !has("priority"):
		en, ok := r.boolVal(item, "enabled", ctx)
		if !ok {
			r.fail(ctx, 0, ErrInvalidItem, "Item has no mapping for key 'condition'")
		}
		r.col.warnf(ctx, warnEnabled)
		prev := r.col.rules[name]
		if prev == nil {
			r.fail(ctx, 0, ErrUndefined, "Rule has 'enabled' key but no rule by that name already exists")
		}
		prev.enabled = en
	default:
		ri := &ruleInfo{name: name, ctx: ctx, enabled: true, warnEvttypes: true, source: "syscall"}
		var cn *yaml.Node
		ri.cond, cn, _ = r.scalarNode(item, "condition", ctx, false)
		ri.condLine = cn.Line
		ri.output = strings.TrimSpace(r.scalar(item, "output", ctx, false))
		ri.desc = r.scalar(item, "desc", ctx, false)
		pv, pn, _ := r.scalarNode(item, "priority", ctx, false)
		p, err := ParsePriority(pv)
		if err != nil {
			r.fail(ctx, pn.Line, ErrInvalidPriority, "Invalid priority %q", pv)
		}
		ri.priority = p
		if v, _, ok := r.scalarNode(item, "source", ctx, true); ok {
			ri.source = v
		}
		if v, ok := r.boolVal(item, "enabled", ctx); ok {
			ri.enabled = v
		}
		if v, ok := r.boolVal(item, "warn_evttypes", ctx); ok {
			ri.warnEvttypes = v
		}
		if v, ok := r.boolVal(item, "skip-if-unknown-filter", ctx); ok {
			ri.skipUnkn = v
		}
		ri.tags, _ = r.seqOfScalars(item, "tags", ctx)
		ri.exceptions = r.exceptions(item, ctx, false)
		r.col.defineRule(ri)
	}
}

func (r *fileReader) decodeUpdate(item *yaml.Node, key string, u *ruleUpdate, ctx itemCtx, isAppend bool) {
	switch key {
	case "condition":
		v := r.scalar(item, key, ctx, false)
		u.cond = &v
	case "output":
		v := strings.TrimSpace(r.scalar(item, key, ctx, false))
		u.output = &v
	case "desc":
		v := r.scalar(item, key, ctx, false)
		u.desc = &v
	case "tags":
		u.tags, _ = r.seqOfScalars(item, key, ctx)
		u.hasTags = true
	case "exceptions":
		u.exceptions = r.exceptions(item, ctx, isAppend)
		u.hasExceptions = true
	case "priority":
		pv, pn, _ := r.scalarNode(item, key, ctx, false)
		p, err := ParsePriority(pv)
		if err != nil {
			r.fail(ctx, pn.Line, ErrInvalidPriority, "Invalid priority %q", pv)
		}
		u.priority = &p
	case "enabled", "warn_evttypes", "skip-if-unknown-filter":
		v, _ := r.boolVal(item, key, ctx)
		switch key {
		case "enabled":
			u.enabled = &v
		case "warn_evttypes":
			u.warn = &v
		default:
			u.skipU = &v
		}
	}
}

func (r *fileReader) exceptionEntry(n *yaml.Node, ctx itemCtx, key string) entry {
	n = deref(n)
	switch n.Kind {
	case yaml.ScalarNode:
		if isNull(n) || n.Value == "" {
			r.fail(ctx, n.Line, ErrInvalidItem, "Value for exception key '%s' must be non-empty", key)
		}
		return entry{valid: true, item: n.Value}
	case yaml.SequenceNode:
		e := entry{valid: true, isList: true}
		for _, v := range n.Content {
			e.items = append(e.items, r.exceptionEntry(v, ctx, key))
		}
		return e
	}
	r.fail(ctx, n.Line, ErrInvalidItem, "Value for exception key '%s' must be a string or a sequence", key)
	return entry{}
}

func (r *fileReader) exceptions(item *yaml.Node, parent itemCtx, isAppend bool) []*exceptionInfo {
	exs := mapGet(item, "exceptions")
	if exs == nil || isNull(exs) {
		return nil
	}
	if exs.Kind != yaml.SequenceNode {
		r.fail(parent, exs.Line, ErrInvalidItem, "Rule exceptions must be a sequence")
	}
	var out []*exceptionInfo
	for _, ex := range exs.Content {
		ex = deref(ex)
		ctx := itemCtx{file: parent.file, line: ex.Line, item: parent.item + " exception"}
		if ex.Kind != yaml.MappingNode {
			r.fail(ctx, 0, ErrInvalidItem, "Rule exception must be a mapping")
		}
		name := r.scalar(ex, "name", ctx, false)
		ctx.item = parent.item + " exception '" + name + "'"
		e := &exceptionInfo{name: name, ctx: ctx}
		for _, prev := range out {
			if prev.name == name {
				r.col.warnf(ctx, "Multiple definitions of exception '%s' in the same rule", name)
			}
		}
		if n := mapGet(ex, "fields"); n != nil {
			e.fields = r.exceptionEntry(n, ctx, "fields")
		} else if !isAppend {
			r.fail(ctx, 0, ErrInvalidItem, "Item has no mapping for key 'fields'")
		}
		if n := mapGet(ex, "comps"); n != nil {
			e.comps = r.exceptionEntry(n, ctx, "comps")
		}
		if vals := mapGet(ex, "values"); vals != nil && !isNull(vals) {
			if vals.Kind != yaml.SequenceNode {
				r.fail(ctx, vals.Line, ErrInvalidItem, "Rule exception values must be a sequence")
			}
			for _, v := range vals.Content {
				e.values = append(e.values, r.exceptionEntry(v, ctx, "values"))
			}
		} else if isAppend {
			r.col.warnf(ctx, "Overriding/appending exception with no values")
		}
		out = append(out, e)
	}
	return out
}

// validateException fills default comps and checks shapes, as Falco's
// validate_exception_info does (field names are checked when compiling).
func validateException(ex *exceptionInfo) error {
	if ex.fields.isList {
		if !ex.comps.valid {
			ex.comps = entry{valid: true, isList: true}
			for range ex.fields.items {
				ex.comps.items = append(ex.comps.items, entry{valid: true, item: "="})
			}
		}
		if !ex.comps.isList || len(ex.fields.items) != len(ex.comps.items) {
			return errors.New("Fields and comps lists must have equal length")
		}
		for _, c := range ex.comps.items {
			if c.isList || !condition.IsOperator(c.item) {
				return fmt.Errorf("'%s' is not a supported comparison operator", c.item)
			}
		}
		for _, f := range ex.fields.items {
			if f.isList {
				return errors.New("exception fields must be strings")
			}
		}
		return nil
	}
	if !ex.comps.valid {
		ex.comps = entry{valid: true, item: "in"}
	}
	if ex.comps.isList {
		return errors.New("Fields and comps must both be strings")
	}
	if ex.comps.item != "in" && ex.comps.item != "pmatch" && ex.comps.item != "intersects" {
		return errors.New("When fields is a single value, comps must be one of (in, pmatch, intersects)")
	}
	return nil
}

func (col *collector) defineRule(ri *ruleInfo) {
	prev := col.rules[ri.name]
	if prev != nil && prev.source != ri.source {
		col.errorf(ri.ctx, ErrInvalidItem, "Rule has been re-defined with a different source")
		return
	}
	if ri.source != "syscall" {
		ri.unknownSource = true
		col.warnf(ri.ctx, "Unknown source %s, skipping: vigil evaluates only the syscall source; the rule is loaded disabled", ri.source)
	}
	for _, ex := range ri.exceptions {
		if !ex.fields.valid {
			col.errorf(ex.ctx, ErrInvalidItem, "Rule exception item must have fields property with a list of fields")
			return
		}
		if err := validateException(ex); err != nil {
			col.errorf(ex.ctx, ErrInvalidItem, "%s", err.Error())
			return
		}
	}
	if prev != nil {
		col.warnf(ri.ctx, "rule redefines the rule loaded from %s:%d, which it replaces", prev.ctx.file, prev.ctx.line)
		*prev = *ri
		return
	}
	col.rules[ri.name] = ri
	col.ruleOrder = append(col.ruleOrder, ri)
}

func (col *collector) appendRule(u *ruleUpdate) {
	prev := col.rules[u.name]
	if prev == nil {
		col.errorf(u.ctx, ErrUndefined, "Rule has 'append' key or an append override but no rule by that name already exists")
		return
	}
	if u.cond == nil && u.output == nil && u.desc == nil && !u.hasTags && !u.hasExceptions {
		col.errorf(u.ctx, ErrInvalidItem, "Appended rule must have exceptions or condition property")
		return
	}
	if u.cond != nil && *u.cond != "" {
		prev.cond += " " + *u.cond
	}
	if u.output != nil && *u.output != "" {
		prev.output += " " + *u.output
	}
	if u.desc != nil && *u.desc != "" {
		prev.desc += " " + *u.desc
	}
	for _, t := range u.tags {
		prev.tags = append(prev.tags, t)
	}
	for _, ex := range u.exceptions {
		var match *exceptionInfo
		for _, pe := range prev.exceptions {
			if pe.name == ex.name {
				match = pe
			}
		}
		if match == nil {
			if !ex.fields.valid {
				col.errorf(ex.ctx, ErrInvalidItem, "Rule exception must have fields property with a list of fields")
				return
			}
			if len(ex.values) == 0 {
				col.errorf(ex.ctx, ErrInvalidItem, "Rule exception must have values property with a list of values")
				return
			}
			if err := validateException(ex); err != nil {
				col.errorf(ex.ctx, ErrInvalidItem, "%s", err.Error())
				return
			}
			prev.exceptions = append(prev.exceptions, ex)
			continue
		}
		if ex.fields.valid {
			col.errorf(ex.ctx, ErrInvalidItem, "Can not append exception fields to existing exception, only values")
			return
		}
		if ex.comps.valid {
			col.errorf(ex.ctx, ErrInvalidItem, "Can not append exception comps to existing exception, only values")
			return
		}
		match.values = append(match.values, ex.values...)
	}
}

func (col *collector) replaceRule(u *ruleUpdate) {
	prev := col.rules[u.name]
	if prev == nil {
		col.errorf(u.ctx, ErrUndefined, "An replace to a rule was requested but no rule by that name already exists")
		return
	}
	if u.cond != nil {
		prev.cond = *u.cond
	}
	if u.output != nil {
		prev.output = *u.output
	}
	if u.desc != nil {
		prev.desc = *u.desc
	}
	if u.hasTags {
		prev.tags = u.tags
	}
	if u.hasExceptions {
		for _, ex := range u.exceptions {
			if err := validateException(ex); err != nil {
				col.errorf(ex.ctx, ErrInvalidItem, "%s", err.Error())
				return
			}
		}
		prev.exceptions = u.exceptions
	}
	if u.priority != nil {
		prev.priority = *u.priority
	}
	if u.enabled != nil {
		prev.enabled = *u.enabled
	}
	if u.warn != nil {
		prev.warnEvttypes = *u.warn
	}
	if u.skipU != nil {
		prev.skipUnkn = *u.skipU
	}
}

func identLen(s string) int {
	if len(s) == 0 || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return 0
	}
	n := 1
	for n < len(s) {
		c := s[n]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			break
		}
		n++
	}
	return n
}

func isBareName(s string) bool {
	if s == "" {
		return false
	}
	return !strings.ContainsAny(s, "()\"' \t\n\v\f\r=,")
}
