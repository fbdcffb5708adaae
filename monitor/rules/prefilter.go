package rules

import (
	"strings"

	"github.com/vigil-dev/vigil/monitor/event"
)

// walkChecks calls fn for every literal comparison in n with whether it
// sits under an odd number of negations. In a conjunction that also
// compares fd.name with exact paths, fd.name prefixes are skipped: the
// exact paths are what can match.
func walkChecks(n node, negated bool, fn func(c *strCmp, negated bool)) {
	switch x := n.(type) {
	case andNode:
		exact := false
		for _, ch := range x {
			if c, ok := ch.(*strCmp); ok && fieldOf(c) == "fd.name" && (c.op == opEq || c.op == opIn) {
				exact = true
			}
		}
		for _, ch := range x {
			if c, ok := ch.(*strCmp); ok && exact && !negated && fieldOf(c) == "fd.name" && c.op == opStartsWith {
				continue
			}
			walkChecks(ch, negated, fn)
		}
	case orNode:
		for _, ch := range x {
			walkChecks(ch, negated, fn)
		}
	case notNode:
		walkChecks(x.n, !negated, fn)
	case *strCmp:
		fn(x, negated)
	}
}

func fieldOf(c *strCmp) string {
	if f, ok := c.o.(*fieldOperand); ok && !f.arg.has {
		return f.def.name
	}
	return ""
}

func (rs *Ruleset) pick(rules []*Rule) []*Rule {
	if rules == nil {
		return rs.active
	}
	out := make([]*Rule, 0, len(rules))
	for _, r := range rules {
		if r != nil && r.status == StatusOK {
			out = append(out, r)
		}
	}
	return out
}

// ProcNames returns the process names that rules compare proc.name with
// through = or in (lists and macros resolved), outside negations — the
// names the kernel should classify at exec. nil rules means every active
// rule. The result is sorted and without duplicates.
func (rs *Ruleset) ProcNames(rules []*Rule) []string {
	var names []string
	for _, r := range rs.pick(rules) {
		walkChecks(r.root, false, func(c *strCmp, negated bool) {
			if negated || fieldOf(c) != "proc.name" {
				return
			}
			switch c.op {
			case opEq, opIn, opIntersects:
				names = append(names, c.vals...)
			}
		})
	}
	return sortedUnique(names)
}

// PathSet is the file paths rules look at, for placing fanotify marks.
type PathSet struct {
	// Exact paths compared with fd.name by = or in.
	Exact []string
	// Prefixes of fd.name (startswith), and directories from fd.directory
	// (= or in) and pmatch, the latter ending in "/".
	Prefixes []string
	// Names compared with fd.filename: base names in any directory.
	Names []string
}

// FilePaths returns the literal paths and prefixes that rules able to match
// open events compare fd.name, fd.directory and fd.filename with, outside
// negations. nil rules means every active rule.
func (rs *Ruleset) FilePaths(rules []*Rule) PathSet {
	var ps PathSet
	for _, r := range rs.pick(rules) {
		if !r.anyType && !contains(r.types, event.Open) {
			continue
		}
		walkChecks(r.root, false, func(c *strCmp, negated bool) {
			if negated {
				return
			}
			switch fieldOf(c) {
			case "fd.name":
				switch c.op {
				case opEq, opIn, opIntersects:
					ps.Exact = append(ps.Exact, c.vals...)
				case opStartsWith:
					ps.Prefixes = append(ps.Prefixes, c.vals...)
				case opPmatch:
					for _, v := range c.vals {
						ps.Prefixes = append(ps.Prefixes, strings.TrimRight(v, "/")+"/")
					}
				}
			case "fd.directory":
				switch c.op {
				case opEq, opIn, opIntersects, opPmatch:
					for _, v := range c.vals {
						ps.Prefixes = append(ps.Prefixes, strings.TrimRight(v, "/")+"/")
					}
				}
			case "fd.filename":
				switch c.op {
				case opEq, opIn, opIntersects:
					ps.Names = append(ps.Names, c.vals...)
				}
			}
		})
	}
	ps.Exact = sortedUnique(ps.Exact)
	ps.Prefixes = sortedUnique(ps.Prefixes)
	ps.Names = sortedUnique(ps.Names)
	return ps
}
