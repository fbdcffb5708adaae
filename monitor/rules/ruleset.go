package rules

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/vigil-dev/vigil/monitor/event"
	"github.com/vigil-dev/vigil/monitor/rules/condition"
)

// Status says whether a loaded rule can be evaluated.
type Status int

const (
	// StatusOK: the rule compiled and every field it uses is produced by vigil.
	StatusOK Status = iota
	// StatusUnsupported: the rule uses a field or construct vigil cannot
	// produce; it loads but never matches. Reason names what.
	StatusUnsupported
	// StatusSkipped: the rule is not evaluated by design: its source is not
	// syscall, or skip-if-unknown-filter applies. Reason says which.
	StatusSkipped
	// StatusError: the rule failed to compile; Err says why.
	StatusError
)

func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusUnsupported:
		return "unsupported"
	case StatusSkipped:
		return "skipped"
	case StatusError:
		return "error"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Rule is one loaded rule. It is immutable after Load.
type Rule struct {
	name, desc, output, source string
	priority                   Priority
	tags                       []string
	enabled                    bool
	status                     Status
	reason                     string
	err                        error
	file                       string
	line                       int
	condition                  string
	root                       node
	types                      []event.Type
	anyType                    bool
	format                     *outputFormat
}

// Name returns the rule's name.
func (r *Rule) Name() string { return r.name }

// Desc returns the rule's description.
func (r *Rule) Desc() string { return r.desc }

// Priority returns the rule's priority.
func (r *Rule) Priority() Priority { return r.priority }

// Tags returns the rule's tags in the order first written, without duplicates.
func (r *Rule) Tags() []string { return append([]string(nil), r.tags...) }

// HasTag reports whether the rule carries tag.
func (r *Rule) HasTag(tag string) bool {
	for _, t := range r.tags {
		if t == tag {
			return true
		}
	}
	return false
}

// Output returns the rule's output format as written (trimmed).
func (r *Rule) Output() string { return r.output }

// Source returns the rule's event source ("syscall" unless stated).
func (r *Rule) Source() string { return r.source }

// Enabled reports whether the rule is enabled by its definition.
func (r *Rule) Enabled() bool { return r.enabled }

// Status says whether the rule can be evaluated.
func (r *Rule) Status() Status { return r.status }

// Reason says why a rule is unsupported or skipped.
func (r *Rule) Reason() string { return r.reason }

// Err is the compile error of a rule with StatusError.
func (r *Rule) Err() error { return r.err }

// File and Line locate the rule's (last) definition.
func (r *Rule) File() string { return r.file }

// Line returns the line of the rule's definition in File.
func (r *Rule) Line() int { return r.line }

// Condition returns the full condition evaluated, exceptions included.
func (r *Rule) Condition() string { return r.condition }

// EventTypes lists the vigil event types the rule can match; nil when the
// condition does not restrict evt.type.
func (r *Rule) EventTypes() []event.Type {
	if r.anyType {
		return nil
	}
	return append([]event.Type(nil), r.types...)
}

// UnsupportedOutputFields lists the fields of the output that vigil cannot
// produce; they print as <NA>.
func (r *Rule) UnsupportedOutputFields() []string {
	if r.format == nil {
		return nil
	}
	return append([]string(nil), r.format.unsupported...)
}

// Active reports whether Match evaluates the rule: enabled and StatusOK.
func (r *Rule) Active() bool { return r.enabled && r.status == StatusOK }

// knownTypes are the event types vigil's sensors produce.
var knownTypes = []event.Type{event.Execve, event.Open, event.Connect, event.Exit}

// Ruleset is a loaded, compiled set of rules. It is safe for concurrent use.
type Ruleset struct {
	rules  []*Rule
	byName map[string]*Rule
	byType map[event.Type][]*Rule
	active []*Rule
	seq    atomic.Uint64
	pool   sync.Pool
}

// Rules returns every loaded rule in load order, whatever its status.
func (rs *Ruleset) Rules() []*Rule { return append([]*Rule(nil), rs.rules...) }

// Rule returns the rule with the given name, or nil.
func (rs *Ruleset) Rule(name string) *Rule { return rs.byName[name] }

// Load reads rules files in order — later files append to, override and
// redefine earlier ones, as Falco does — and compiles every rule.
//
// The Ruleset is returned even when err is non-nil, so callers can report
// per rule: rules that failed to compile have StatusError. err is an
// Errors listing every problem with its file, line and item. Warnings never
// stop loading.
func Load(files ...Source) (*Ruleset, []Warning, error) {
	col := newCollector()
	for _, f := range files {
		col.readFile(f)
	}
	rs, warns, errs := col.compile()
	warns = append(col.warns, warns...)
	errs = append(col.errs, errs...)
	if len(errs) > 0 {
		return rs, warns, errs
	}
	return rs, warns, nil
}

func (col *collector) compile() (*Ruleset, []Warning, Errors) {
	c := newCompiler(col)
	var errs Errors
	for _, l := range col.listOrder {
		if _, err := c.expandList(l.name); err != nil {
			errs = append(errs, &Error{File: l.ctx.file, Line: l.ctx.line, Item: l.ctx.item, Msg: err.Error(), Err: ErrInvalidItem})
		}
	}
	errs = append(errs, c.checkMacros()...)
	var warns []Warning

	rs := &Ruleset{byName: map[string]*Rule{}, byType: map[event.Type][]*Rule{}}
	rs.pool.New = func() any { return &evalCtx{arena: make([]byte, 0, 256)} }
	for _, ri := range col.ruleOrder {
		r, ruleWarns, err := c.rule(ri)
		warns = append(warns, ruleWarns...)
		if err != nil {
			errs = append(errs, err)
		}
		rs.rules = append(rs.rules, r)
		rs.byName[r.name] = r
		if !r.Active() {
			continue
		}
		rs.active = append(rs.active, r)
		for _, t := range r.types {
			rs.byType[t] = append(rs.byType[t], r)
		}
		if r.anyType {
			for _, t := range knownTypes {
				if !contains(r.types, t) {
					rs.byType[t] = append(rs.byType[t], r)
				}
			}
		}
	}
	warns = append(c.warns, warns...)
	return rs, warns, errs
}

func contains(ts []event.Type, t event.Type) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

func dedupe(tags []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, t := range tags {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// rule compiles one collected rule.
func (c *compiler) rule(ri *ruleInfo) (*Rule, []Warning, *Error) {
	r := &Rule{
		name: ri.name, desc: strings.TrimSpace(ri.desc), output: ri.output, source: ri.source,
		priority: ri.priority, tags: dedupe(ri.tags), enabled: ri.enabled,
		file: ri.ctx.file, line: ri.ctx.line, root: constNode(false),
	}
	condCtx := itemCtx{file: ri.ctx.file, line: ri.condLine, item: ri.ctx.item}
	fail := func(line int, err error) (*Rule, []Warning, *Error) {
		r.status, r.err = StatusError, err
		sentinel := ErrCondition
		for _, s := range []error{ErrUndefined, ErrUnknownField, ErrInvalidValue, ErrInvalidItem, ErrCondition} {
			if errors.Is(err, s) {
				sentinel = s
				break
			}
		}
		return r, nil, &Error{File: ri.ctx.file, Line: line, Item: ri.ctx.item, Msg: err.Error(), Err: &wrapped{sentinel, err}}
	}
	if ri.unknownSource {
		r.status, r.reason, r.enabled = StatusSkipped, "source "+ri.source+" is not evaluated by vigil", false
		r.condition = ri.cond
		if _, err := condition.Parse(ri.cond); err != nil {
			return fail(ri.condLine, syntaxError(err))
		}
		return r, nil, nil
	}
	exText, badEx, err := exceptionsCondition(ri.exceptions)
	if err != nil {
		return fail(badEx.ctx.line, err)
	}
	r.condition = strings.TrimSpace(ri.cond) + exText
	ast, err := condition.Parse(ri.cond + exText)
	if err != nil {
		return fail(ri.condLine, syntaxError(err))
	}
	acc := &compiled{}
	root := c.expr(ast, acc, condCtx)
	switch {
	case acc.err != nil:
		return fail(ri.condLine, acc.err)
	case len(acc.unknown) > 0 && !ri.skipUnkn:
		return fail(ri.condLine, acc.unknown[0])
	case len(acc.unknown) > 0:
		r.status, r.reason = StatusSkipped, "skip-if-unknown-filter: "+acc.unknown[0].Error()
	case len(acc.unsupported) > 0 && ri.skipUnkn:
		r.status, r.reason = StatusSkipped, "skip-if-unknown-filter: unsupported "+strings.Join(acc.unsupported, ", ")
	case len(acc.unsupported) > 0:
		r.status, r.reason = StatusUnsupported, strings.Join(acc.unsupported, ", ")
	default:
		r.status, r.root = StatusOK, root
	}
	r.format = compileOutput(r.output)

	var warns []Warning
	if r.status == StatusOK {
		pc := &evalCtx{}
		for _, t := range knownTypes {
			pc.reset(&event.Event{Type: t}, 0, false)
			if root.partial(pc) != no {
				r.types = append(r.types, t)
			}
		}
		pc.reset(&event.Event{Type: "\x00other"}, 0, false)
		if root.partial(pc) != no {
			r.anyType = true
			if ri.warnEvttypes {
				warns = append(warns, Warning{File: ri.ctx.file, Line: ri.ctx.line, Item: ri.ctx.item,
					Msg: "Rule matches too many evt.type values. This has a significant performance penalty."})
			}
		}
	}
	return r, warns, nil
}

// Match evaluates every active rule on ev and returns all that match, in
// load order (no rule shadows another). It allocates only for the result.
func (rs *Ruleset) Match(ev *event.Event) []*Rule {
	c := rs.pool.Get().(*evalCtx)
	c.reset(ev, rs.seq.Add(1), true)
	candidates, known := rs.byType[ev.Type]
	if !known && !contains(knownTypes, ev.Type) {
		candidates = rs.active
	}
	var out []*Rule
	for _, r := range candidates {
		if r.root.eval(c) {
			out = append(out, r)
		}
	}
	c.reset(nil, 0, true)
	rs.pool.Put(c)
	return out
}

// Eval evaluates one rule on ev regardless of whether it is enabled; it
// reports false for rules that are not StatusOK. evt.num is 1.
func (r *Rule) Eval(ev *event.Event) bool {
	if r.status != StatusOK {
		return false
	}
	c := &evalCtx{}
	c.reset(ev, 1, false)
	return r.root.eval(c)
}

// wrapped keeps a sentinel and the error it classifies, so errors.Is finds
// both (ErrCondition and condition.ErrSyntax).
type wrapped struct {
	sentinel, err error
}

func (w *wrapped) Error() string   { return w.err.Error() }
func (w *wrapped) Unwrap() []error { return []error{w.sentinel, w.err} }
