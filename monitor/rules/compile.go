package rules

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/vigil-dev/vigil/monitor/rules/condition"
)

// compileError is an error found while compiling a condition; it wraps one
// of the package's sentinels and, for syntax errors, the parser's error.
type compileError struct {
	sentinel error
	msg      string
	inner    error
}

func (e *compileError) Error() string { return e.msg }
func (e *compileError) Unwrap() []error {
	if e.inner != nil {
		return []error{e.sentinel, e.inner}
	}
	return []error{e.sentinel}
}

func syntaxError(err error) error {
	return &compileError{sentinel: ErrCondition, msg: "condition: " + err.Error(), inner: err}
}

func errorf(sentinel error, format string, args ...any) error {
	return &compileError{sentinel: sentinel, msg: fmt.Sprintf(format, args...)}
}

// compiled is the result of compiling a condition (a rule's or a macro's).
type compiled struct {
	n           node
	unsupported []string // reasons the condition cannot be evaluated
	unknown     []error  // fields no Falco source defines
	err         error    // first hard error
}

func (r *compiled) addUnsupported(reason string) {
	for _, u := range r.unsupported {
		if u == reason {
			return
		}
	}
	r.unsupported = append(r.unsupported, reason)
}

func (r *compiled) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *compiled) merge(o *compiled, macro string) {
	for _, u := range o.unsupported {
		r.addUnsupported(u)
	}
	r.unknown = append(r.unknown, o.unknown...)
	if o.err != nil {
		r.fail(fmt.Errorf("in macro '%s': %w", macro, o.err))
	}
}

// compiler resolves lists and macros and turns condition trees into nodes.
type compiler struct {
	col       *collector
	lists     map[string][]string
	listBusy  map[string]bool
	macroAST  map[string]condition.Expr
	macroErr  map[string]error
	memo      map[string]*compiled
	macroBusy map[string]bool
	warned    map[string]bool
	warns     []Warning
}

func newCompiler(col *collector) *compiler {
	return &compiler{
		col:       col,
		lists:     map[string][]string{},
		listBusy:  map[string]bool{},
		macroAST:  map[string]condition.Expr{},
		macroErr:  map[string]error{},
		memo:      map[string]*compiled{},
		macroBusy: map[string]bool{},
		warned:    map[string]bool{},
	}
}

func (c *compiler) warn(ctx itemCtx, msg string) {
	key := ctx.file + "\x00" + strconv.Itoa(ctx.line) + "\x00" + msg
	if c.warned[key] {
		return
	}
	c.warned[key] = true
	c.warns = append(c.warns, Warning{File: ctx.file, Line: ctx.line, Item: ctx.item, Msg: msg})
}

// expandList returns the items of a list with nested list references
// expanded and quoted items unquoted.
func (c *compiler) expandList(name string) ([]string, error) {
	if items, ok := c.lists[name]; ok {
		return items, nil
	}
	if c.listBusy[name] {
		return nil, errorf(ErrInvalidItem, "list '%s' references itself", name)
	}
	c.listBusy[name] = true
	defer delete(c.listBusy, name)
	l := c.col.lists[name]
	items := make([]string, 0, len(l.items))
	for _, it := range l.items {
		if _, isList := c.col.lists[it]; isList && it != name {
			sub, err := c.expandList(it)
			if err != nil {
				return nil, err
			}
			items = append(items, sub...)
			continue
		}
		items = append(items, literalItem(it))
	}
	c.lists[name] = items
	return items, nil
}

// literalItem is the value a list or exception item stands for:
// '"75-system-updat"' is 75-system-updat, as it is when Falco pastes it
// into a condition.
func literalItem(s string) string {
	if t, ok := condition.Unquote(s); ok {
		return t
	}
	return s
}

func (c *compiler) parseMacro(name string) (condition.Expr, error) {
	if e, ok := c.macroAST[name]; ok {
		return e, c.macroErr[name]
	}
	m := c.col.macros[name]
	e, err := condition.Parse(m.cond)
	if err != nil {
		err = syntaxError(err)
	}
	c.macroAST[name], c.macroErr[name] = e, err
	return e, err
}

func (c *compiler) macro(name string) *compiled {
	if r, ok := c.memo[name]; ok {
		return r
	}
	if c.macroBusy[name] {
		return &compiled{n: constNode(false), err: errorf(ErrCondition, "macro '%s' references itself", name)}
	}
	c.macroBusy[name] = true
	defer delete(c.macroBusy, name)
	res := &compiled{n: constNode(false)}
	m := c.col.macros[name]
	if e, err := c.parseMacro(name); err != nil {
		res.err = err
	} else {
		res.n = c.expr(e, res, itemCtx{file: m.ctx.file, line: m.condLine, item: m.ctx.item})
	}
	c.memo[name] = res
	return res
}

func (c *compiler) expr(e condition.Expr, acc *compiled, ctx itemCtx) node {
	switch n := e.(type) {
	case *condition.And:
		out := make(andNode, 0, len(n.Children))
		for _, ch := range n.Children {
			out = append(out, c.expr(ch, acc, ctx))
		}
		return out
	case *condition.Or:
		out := make(orNode, 0, len(n.Children))
		for _, ch := range n.Children {
			out = append(out, c.expr(ch, acc, ctx))
		}
		return out
	case *condition.Not:
		return notNode{c.expr(n.Child, acc, ctx)}
	case *condition.Ident:
		return c.ident(n, acc, ctx)
	case *condition.Check:
		return c.check(n, acc, ctx)
	}
	acc.fail(errorf(ErrCondition, "unexpected expression %T", e))
	return constNode(false)
}

func (c *compiler) ident(n *condition.Ident, acc *compiled, ctx itemCtx) node {
	if _, ok := c.col.macros[n.Name]; ok {
		r := c.macro(n.Name)
		acc.merge(r, n.Name)
		return r.n
	}
	if _, ok := c.col.lists[n.Name]; ok {
		items, err := c.expandList(n.Name)
		if err != nil {
			acc.fail(err)
			return constNode(false)
		}
		if len(items) == 0 {
			c.warn(ctx, fmt.Sprintf("the empty list '%s' is used as a condition; Falco rejects this (\"Undefined macro '%s' used in filter.\"); vigil treats the empty allow-list as false, so 'not %s' excludes nothing", n.Name, n.Name, n.Name))
			return constNode(false)
		}
		acc.fail(errorf(ErrUndefined, "Undefined macro '%s' used in filter. ('%s' is a list: use it as a list value, e.g. 'proc.name in (%s)')", n.Name, n.Name, n.Name))
		return constNode(false)
	}
	acc.fail(errorf(ErrUndefined, "Undefined macro '%s' used in filter.", n.Name))
	return constNode(false)
}

// operand compiles the left-hand side of a check, or a val()/transformer
// right-hand side. A non-empty reason means vigil cannot produce it.
func (c *compiler) operand(o condition.Operand) (operand, string, error) {
	switch n := o.(type) {
	case *condition.Field:
		def, arg, reason, err := lookupField(n.Name, n.Arg, n.HasArg)
		if err != nil || reason != "" {
			return nil, reason, err
		}
		return &fieldOperand{def: def, arg: arg, disp: displayField(n.Name, n.Arg, n.HasArg)}, "", nil
	case *condition.Transformer:
		switch n.Name {
		case "tolower", "toupper", "b64", "basename", "len":
		default:
			return nil, "construct " + n.Name + "()", nil
		}
		if len(n.Args) != 1 {
			return nil, "construct " + n.Name + "() with several arguments", nil
		}
		switch n.Args[0].(type) {
		case *condition.Field, *condition.Transformer:
		default:
			return nil, "construct " + n.Name + "() of a literal", nil
		}
		in, reason, err := c.operand(n.Args[0])
		if err != nil || reason != "" {
			return nil, reason, err
		}
		if in.kind() != kString {
			return nil, "", errorf(ErrInvalidValue, "can't add field transformer: type '%s' is not supported by '%s' transformer applied on field '%s'", in.kind(), n.Name, in.name())
		}
		return &transformOperand{fn: n.Name, in: in}, "", nil
	}
	return nil, "", errorf(ErrCondition, "unexpected operand %s", o.String())
}

func (c *compiler) check(chk *condition.Check, acc *compiled, ctx itemCtx) node {
	left, reason, err := c.operand(chk.Left)
	switch {
	case err != nil && errors.Is(err, ErrUnknownField):
		acc.unknown = append(acc.unknown, err)
		return constNode(false)
	case err != nil:
		acc.fail(err)
		return constNode(false)
	case reason != "":
		acc.addUnsupported(reason)
		return constNode(false)
	}
	o, ok := opByName[chk.Op]
	if !ok {
		acc.fail(errorf(ErrCondition, "unknown operator '%s'", chk.Op))
		return constNode(false)
	}
	if o == opExists {
		return &existsNode{o: left}
	}
	var vals []string
	switch rv := chk.Right.(type) {
	case *condition.FieldValue:
		return c.fieldCompare(left, o, chk.Op, rv, acc)
	case *condition.Literal:
		vals = []string{rv.Text}
	case *condition.List:
		for _, it := range rv.Items {
			if _, isList := c.col.lists[it.Text]; isList && !it.Quoted {
				items, err := c.expandList(it.Text)
				if err != nil {
					acc.fail(err)
					return constNode(false)
				}
				vals = append(vals, items...)
				continue
			}
			vals = append(vals, it.Text)
		}
	case *condition.ListRef:
		if _, isList := c.col.lists[rv.Name]; isList {
			items, err := c.expandList(rv.Name)
			if err != nil {
				acc.fail(err)
				return constNode(false)
			}
			vals = items
		} else {
			vals = []string{rv.Name}
		}
	}
	n, err := literalCompare(left, o, chk.Op, vals)
	if err != nil {
		acc.fail(err)
		return constNode(false)
	}
	if f, ok := left.(*fieldOperand); ok && f.def.name == "fd.filename" && o != opNe {
		for _, v := range vals {
			if strings.Contains(v, "/") {
				c.warn(ctx, fmt.Sprintf("'%s' never matches: fd.filename is a base name without '/' (did you mean fd.name?)", chk.String()))
				break
			}
		}
	}
	return n
}

func (c *compiler) fieldCompare(left operand, o op, opName string, rv *condition.FieldValue, acc *compiled) node {
	right, reason, err := c.operand(rv.Operand)
	switch {
	case err != nil && errors.Is(err, ErrUnknownField):
		acc.unknown = append(acc.unknown, err)
		return constNode(false)
	case err != nil:
		acc.fail(err)
		return constNode(false)
	case reason != "":
		acc.addUnsupported(reason)
		return constNode(false)
	}
	switch o {
	case opRegex, opBContains, opBStartsWith:
		acc.addUnsupported("construct '" + opName + "' with a field on the right-hand side")
		return constNode(false)
	}
	lk, rk := left.kind(), right.kind()
	if lk != rk {
		acc.fail(errorf(ErrInvalidValue, "field '%s' has type '%s' while the right-hand side field '%s' has incompatible type '%s'", left.name(), lk, right.name(), rk))
		return constNode(false)
	}
	if err := checkOp(left, o, opName); err != nil {
		acc.fail(err)
		return constNode(false)
	}
	return &fieldCmp{l: left, r: right, op: o}
}

func checkOp(left operand, o op, opName string) error {
	ok := true
	switch left.kind() {
	case kNum:
		ok = o <= opIntersects
	case kBool, kIP, kNet:
		ok = o == opEq || o == opNe || o == opIn || o == opIntersects
	}
	if !ok {
		return errorf(ErrInvalidValue, "operator '%s' is not supported for field '%s' of type %s", opName, left.name(), left.kind())
	}
	return nil
}

// literalCompare builds the node comparing left with literal values, each
// parsed for the field's type as libsinsp does.
func literalCompare(left operand, o op, opName string, vals []string) (node, error) {
	if err := checkOp(left, o, opName); err != nil {
		return nil, err
	}
	if !o.isList() && len(vals) != 1 {
		return nil, errorf(ErrInvalidValue, "operator '%s' takes one value", opName)
	}
	switch left.kind() {
	case kString:
		n := &strCmp{o: left, op: o, vals: vals}
		switch o {
		case opRegex:
			re, err := regexp.Compile(`^(?:` + vals[0] + `)$`)
			if err != nil {
				return nil, errorf(ErrInvalidValue, "invalid regex %q for field '%s': %v", vals[0], left.name(), err)
			}
			n.re = re
		case opBContains, opBStartsWith:
			b, err := hex.DecodeString(vals[0])
			if err != nil {
				return nil, errorf(ErrInvalidValue, "operator '%s' needs a hexadecimal byte string, not %q", opName, vals[0])
			}
			n.vals = []string{string(b)}
		case opIn, opIntersects:
			if len(vals) > 8 {
				n.set = make(map[string]struct{}, len(vals))
				for _, v := range vals {
					n.set[v] = struct{}{}
				}
			}
		}
		return n, nil
	case kNum, kBool:
		n := &numCmp{o: left, op: o}
		for _, v := range vals {
			x, err := parseNumber(v, left.kind())
			if err != nil {
				return nil, errorf(ErrInvalidValue, "could not parse %q for field '%s': %v", v, left.name(), err)
			}
			n.vals = append(n.vals, x)
		}
		return n, nil
	default:
		n := &ipCmp{o: left, op: o}
		for _, v := range vals {
			if left.kind() == kIP && !strings.Contains(v, "/") {
				a, err := netip.ParseAddr(v)
				if err != nil {
					return nil, errorf(ErrInvalidValue, "could not parse %q as an IP address for field '%s'", v, left.name())
				}
				n.addrs = append(n.addrs, a.Unmap())
				continue
			}
			p, err := parseNet(v)
			if err != nil {
				return nil, errorf(ErrInvalidValue, "could not parse %q as an IP network for field '%s'", v, left.name())
			}
			n.nets = append(n.nets, p)
		}
		return n, nil
	}
}

func parseNet(v string) (netip.Prefix, error) {
	if !strings.Contains(v, "/") {
		a, err := netip.ParseAddr(v)
		if err != nil {
			return netip.Prefix{}, err
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(v)
	if err != nil {
		return p, err
	}
	if p.Addr().Is4In6() {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

func parseNumber(v string, k kind) (int64, error) {
	if k == kBool {
		switch v {
		case "true":
			return 1, nil
		case "false":
			return 0, nil
		}
		return 0, errors.New("unrecognized boolean value (want true or false)")
	}
	if n, err := strconv.ParseInt(v, 0, 64); err == nil {
		return n, nil
	}
	u, err := strconv.ParseUint(v, 0, 64)
	if err != nil {
		return 0, errors.New("not a number")
	}
	return int64(u), nil
}

// quoteItem and parenItem build exception conditions exactly as Falco's
// rule_loader_compiler does.
func quoteItem(e string) string {
	if strings.Contains(e, " ") && e != "" && e[0] != '"' && e[0] != '\'' {
		return `"` + e + `"`
	}
	return e
}

func parenItem(e string) string {
	if e == "" || e[0] != '(' {
		return "(" + e + ")"
	}
	return e
}

// exceptionsCondition renders a rule's exceptions as the text Falco appends
// to its condition: " and not (...)" for each exception with values.
func exceptionsCondition(exs []*exceptionInfo) (string, *exceptionInfo, error) {
	var b strings.Builder
	for _, ex := range exs {
		var icond strings.Builder
		if !ex.fields.isList {
			for _, v := range ex.values {
				if v.isList {
					return "", ex, errorf(ErrInvalidItem, "Expected values array to contain a list of strings")
				}
				if icond.Len() == 0 {
					icond.WriteString("(" + ex.fields.item + " " + ex.comps.item + " (")
				} else {
					icond.WriteString(", ")
				}
				icond.WriteString(quoteItem(v.item))
			}
			if icond.Len() > 0 {
				icond.WriteString("))")
			}
		} else {
			icond.WriteString("(")
			first := true
			for _, values := range ex.values {
				if !values.isList || len(values.items) != len(ex.fields.items) {
					return "", ex, errorf(ErrInvalidItem, "Fields and values lists must have equal length")
				}
				if !first {
					icond.WriteString(" or ")
				}
				first = false
				icond.WriteString("(")
				for k, field := range ex.fields.items {
					if k > 0 {
						icond.WriteString(" and ")
					}
					comp := ex.comps.items[k].item
					var istr string
					if v := values.items[k]; v.isList {
						parts := make([]string, len(v.items))
						for i, x := range v.items {
							parts[i] = quoteItem(x.item)
						}
						istr = "(" + strings.Join(parts, ", ") + ")"
					} else if condition.IsListOperator(comp) {
						istr = parenItem(v.item)
					} else {
						istr = quoteItem(v.item)
					}
					icond.WriteString(" " + field.item + " " + comp + " " + istr)
				}
				icond.WriteString(")")
			}
			icond.WriteString(")")
			if icond.String() == "()" {
				icond.Reset()
			}
		}
		if icond.Len() > 0 {
			b.WriteString(" and not ")
			b.WriteString(icond.String())
		}
	}
	return b.String(), nil, nil
}

// checkMacros reports, like Falco, problems in every macro whether or not a
// rule uses it: syntax errors and references to undefined macros.
func (c *compiler) checkMacros() []*Error {
	var errs []*Error
	for _, m := range c.col.macOrder {
		e, err := c.parseMacro(m.name)
		if err != nil {
			errs = append(errs, &Error{File: m.ctx.file, Line: m.condLine, Item: m.ctx.item, Msg: err.Error(), Err: ErrCondition})
			continue
		}
		condition.Walk(e, func(x condition.Expr) bool {
			id, ok := x.(*condition.Ident)
			if !ok {
				return true
			}
			if _, isMacro := c.col.macros[id.Name]; isMacro {
				return true
			}
			if _, isList := c.col.lists[id.Name]; isList {
				return true // reported where a rule uses it
			}
			errs = append(errs, &Error{File: m.ctx.file, Line: m.condLine, Item: m.ctx.item,
				Msg: fmt.Sprintf("Undefined macro '%s' used in filter.", id.Name), Err: ErrUndefined})
			return true
		})
	}
	return errs
}

func sortedUnique(in []string) []string {
	sort.Strings(in)
	out := in[:0]
	for i, s := range in {
		if i == 0 || s != in[i-1] {
			out = append(out, s)
		}
	}
	return out
}
