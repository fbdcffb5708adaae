package rules

import (
	"encoding/base64"
	"net/netip"
	"regexp"
	"strings"
	"unicode/utf8"
)

// op is a check operator.
type op uint8

const (
	opEq op = iota + 1
	opNe
	opLt
	opLe
	opGt
	opGe
	opIn
	opIntersects
	opPmatch
	opContains
	opIContains
	opBContains
	opStartsWith
	opBStartsWith
	opEndsWith
	opGlob
	opIGlob
	opRegex
	opExists
)

var opByName = map[string]op{
	"=": opEq, "==": opEq, "!=": opNe, "<": opLt, "<=": opLe, ">": opGt, ">=": opGe,
	"in": opIn, "intersects": opIntersects, "pmatch": opPmatch,
	"contains": opContains, "icontains": opIContains, "bcontains": opBContains,
	"startswith": opStartsWith, "bstartswith": opBStartsWith, "endswith": opEndsWith,
	"glob": opGlob, "iglob": opIGlob, "regex": opRegex, "exists": opExists,
}

func (o op) isList() bool { return o == opIn || o == opIntersects || o == opPmatch }

// tri is a three-valued truth for evaluating a condition when only some
// fields are known.
type tri uint8

const (
	unknown tri = iota
	yes
	no
)

func triOf(b bool) tri {
	if b {
		return yes
	}
	return no
}

// node is a compiled condition.
type node interface {
	eval(c *evalCtx) bool
	// partial evaluates the node knowing only the static fields (evt.type,
	// evt.dir); other checks are unknown.
	partial(c *evalCtx) tri
}

type constNode bool

func (n constNode) eval(*evalCtx) bool   { return bool(n) }
func (n constNode) partial(*evalCtx) tri { return triOf(bool(n)) }

type andNode []node

func (n andNode) eval(c *evalCtx) bool {
	for _, x := range n {
		if !x.eval(c) {
			return false
		}
	}
	return true
}

func (n andNode) partial(c *evalCtx) tri {
	r := yes
	for _, x := range n {
		switch x.partial(c) {
		case no:
			return no
		case unknown:
			r = unknown
		}
	}
	return r
}

type orNode []node

func (n orNode) eval(c *evalCtx) bool {
	for _, x := range n {
		if x.eval(c) {
			return true
		}
	}
	return false
}

func (n orNode) partial(c *evalCtx) tri {
	r := no
	for _, x := range n {
		switch x.partial(c) {
		case yes:
			return yes
		case unknown:
			r = unknown
		}
	}
	return r
}

type notNode struct{ n node }

func (n notNode) eval(c *evalCtx) bool { return !n.n.eval(c) }

func (n notNode) partial(c *evalCtx) tri {
	switch n.n.partial(c) {
	case yes:
		return no
	case no:
		return yes
	}
	return unknown
}

// operand produces the values a check compares: a field or a transformed
// field.
type operand interface {
	kind() kind
	multi() multi
	static() bool
	str(c *evalCtx, i int) (string, bool)
	num(c *evalCtx, i int) (int64, bool)
	ip(c *evalCtx, i int) (netip.Addr, bool)
	name() string
}

type fieldOperand struct {
	def  *fieldDef
	arg  fieldArg
	disp string // the field as written
}

func (o *fieldOperand) kind() kind { return o.def.kind }
func (o *fieldOperand) multi() multi {
	if o.def.multi == anyOf && o.arg.has {
		return single
	}
	return o.def.multi
}
func (o *fieldOperand) static() bool { return o.def.static }

// The getters return the i-th value; single-valued fields have only i == 0.
func (o *fieldOperand) str(c *evalCtx, i int) (string, bool) {
	if o.def.str == nil || (i > 0 && o.multi() == single) {
		return "", false
	}
	return o.def.str(c, &o.arg, i)
}
func (o *fieldOperand) num(c *evalCtx, i int) (int64, bool) {
	if o.def.num == nil || (i > 0 && o.multi() == single) {
		return 0, false
	}
	return o.def.num(c, &o.arg, i)
}
func (o *fieldOperand) ip(c *evalCtx, i int) (netip.Addr, bool) {
	if o.def.ip == nil || (i > 0 && o.multi() == single) {
		return netip.Addr{}, false
	}
	return o.def.ip(c, &o.arg, i)
}
func (o *fieldOperand) name() string {
	if o.disp != "" {
		return o.disp
	}
	return displayField(o.def.name, o.arg.raw, o.arg.has)
}

// transformOperand applies tolower, toupper, b64, basename or len.
type transformOperand struct {
	fn string
	in operand
}

func (o *transformOperand) kind() kind {
	if o.fn == "len" {
		return kNum
	}
	return kString
}
func (o *transformOperand) multi() multi {
	if o.fn == "len" {
		return single
	}
	return o.in.multi()
}
func (o *transformOperand) static() bool { return o.in.static() }
func (o *transformOperand) name() string { return o.fn + "(" + o.in.name() + ")" }

func (o *transformOperand) str(c *evalCtx, i int) (string, bool) {
	v, ok := o.in.str(c, i)
	if !ok {
		return "", false
	}
	switch o.fn {
	case "tolower":
		return mapASCII(c, v, 'A', 'Z', 'a'-'A'), true
	case "toupper":
		return mapASCII(c, v, 'a', 'z', 'A'-'a'), true
	case "basename":
		if j := strings.LastIndexByte(v, '/'); j >= 0 {
			return v[j+1:], true
		}
		return v, true
	case "b64":
		d, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return "", false
		}
		return string(d), true
	}
	return "", false
}

func (o *transformOperand) num(c *evalCtx, i int) (int64, bool) {
	if o.fn != "len" || i > 0 {
		return 0, false
	}
	if o.in.multi() != single {
		n := 0
		for {
			if _, ok := o.in.str(c, n); !ok {
				break
			}
			n++
		}
		return int64(n), true
	}
	v, ok := o.in.str(c, 0)
	if !ok {
		return 0, false
	}
	return int64(len(v)), true
}

func (o *transformOperand) ip(*evalCtx, int) (netip.Addr, bool) { return netip.Addr{}, false }

// mapASCII shifts the letters lo..hi of s by delta (a case change), without
// allocating when s has none.
func mapASCII(c *evalCtx, s string, lo, hi byte, delta int) string {
	k := -1
	for i := 0; i < len(s); i++ {
		if s[i] >= lo && s[i] <= hi {
			k = i
			break
		}
	}
	if k < 0 {
		return s
	}
	var b []byte
	start := 0
	if c.scratch {
		b, start = c.arena, len(c.arena)
	} else {
		b = make([]byte, 0, len(s))
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch >= lo && ch <= hi {
			ch = byte(int(ch) + delta)
		}
		b = append(b, ch)
	}
	if c.scratch {
		c.arena = b
		return c.arenaString(start)
	}
	return string(b)
}

// existsNode is `field exists`.
type existsNode struct{ o operand }

func valueExists(o operand, c *evalCtx, i int) bool {
	switch o.kind() {
	case kString:
		_, ok := o.str(c, i)
		return ok
	case kNum, kBool:
		_, ok := o.num(c, i)
		return ok
	default:
		_, ok := o.ip(c, i)
		return ok
	}
}

func (n *existsNode) eval(c *evalCtx) bool {
	if valueExists(n.o, c, 0) {
		return true
	}
	// a pair (fd.ip) may have its second member only.
	return n.o.multi() == ipPair && valueExists(n.o, c, 1)
}

func (n *existsNode) partial(c *evalCtx) tri {
	if n.o.static() {
		return triOf(n.eval(c))
	}
	return unknown
}

// strCmp compares a string operand with literal values.
type strCmp struct {
	o    operand
	op   op
	vals []string
	set  map[string]struct{}
	re   *regexp.Regexp
}

func (n *strCmp) match(v string) bool {
	switch n.op {
	case opEq:
		return v == n.vals[0]
	case opNe:
		return v != n.vals[0]
	case opLt:
		return v < n.vals[0]
	case opLe:
		return v <= n.vals[0]
	case opGt:
		return v > n.vals[0]
	case opGe:
		return v >= n.vals[0]
	case opIn, opIntersects:
		if n.set != nil {
			_, ok := n.set[v]
			return ok
		}
		for _, x := range n.vals {
			if v == x {
				return true
			}
		}
		return false
	case opPmatch:
		for _, p := range n.vals {
			if pathUnder(v, p) {
				return true
			}
		}
		return false
	case opContains, opBContains:
		return strings.Contains(v, n.vals[0])
	case opIContains:
		return containsFold(v, n.vals[0])
	case opStartsWith, opBStartsWith:
		return strings.HasPrefix(v, n.vals[0])
	case opEndsWith:
		return strings.HasSuffix(v, n.vals[0])
	case opGlob:
		return globMatch(n.vals[0], v, false)
	case opIGlob:
		return globMatch(n.vals[0], v, true)
	case opRegex:
		return n.re.MatchString(v)
	}
	return false
}

func (n *strCmp) eval(c *evalCtx) bool {
	if n.o.multi() == single {
		v, ok := n.o.str(c, 0)
		return ok && n.match(v)
	}
	// anyOf: true when any value matches, for every operator, as Falco
	// does for proc.aname.
	for i := 0; ; i++ {
		v, ok := n.o.str(c, i)
		if !ok {
			return false
		}
		if n.match(v) {
			return true
		}
	}
}

func (n *strCmp) partial(c *evalCtx) tri {
	if n.o.static() {
		return triOf(n.eval(c))
	}
	return unknown
}

// numCmp compares a numeric or boolean operand with literal values.
type numCmp struct {
	o    operand
	op   op
	vals []int64
}

func (n *numCmp) match(v int64) bool {
	switch n.op {
	case opEq:
		return v == n.vals[0]
	case opNe:
		return v != n.vals[0]
	case opLt:
		return v < n.vals[0]
	case opLe:
		return v <= n.vals[0]
	case opGt:
		return v > n.vals[0]
	case opGe:
		return v >= n.vals[0]
	case opIn, opIntersects:
		for _, x := range n.vals {
			if v == x {
				return true
			}
		}
	}
	return false
}

func (n *numCmp) eval(c *evalCtx) bool {
	switch n.o.multi() {
	case single:
		v, ok := n.o.num(c, 0)
		return ok && n.match(v)
	case ipPair:
		all := n.op == opNe
		found := false
		for i := 0; i < 2; i++ {
			v, ok := n.o.num(c, i)
			if !ok {
				continue
			}
			found = true
			if r := n.match(v); r != all {
				return r
			}
		}
		return all && found
	}
	for i := 0; ; i++ {
		v, ok := n.o.num(c, i)
		if !ok {
			return false
		}
		if n.match(v) {
			return true
		}
	}
}

func (n *numCmp) partial(c *evalCtx) tri {
	if n.o.static() {
		return triOf(n.eval(c))
	}
	return unknown
}

// ipCmp compares an address operand with addresses and networks.
type ipCmp struct {
	o     operand
	op    op
	addrs []netip.Addr
	nets  []netip.Prefix
}

func (n *ipCmp) in(v netip.Addr) bool {
	for _, a := range n.addrs {
		if a == v {
			return true
		}
	}
	for _, p := range n.nets {
		if p.Contains(v) {
			return true
		}
	}
	return false
}

func (n *ipCmp) match(v netip.Addr) bool {
	if n.op == opNe {
		return !n.in(v)
	}
	return n.in(v)
}

func (n *ipCmp) eval(c *evalCtx) bool {
	m := n.o.multi()
	if m == single {
		v, ok := n.o.ip(c, 0)
		return ok && n.match(v)
	}
	all := n.op == opNe
	found := false
	for i := 0; i < 2; i++ {
		v, ok := n.o.ip(c, i)
		if !ok {
			continue
		}
		found = true
		if r := n.match(v); r != all {
			return r
		}
	}
	return all && found
}

func (n *ipCmp) partial(c *evalCtx) tri {
	if n.o.static() {
		return triOf(n.eval(c))
	}
	return unknown
}

// fieldCmp compares two operands of the same kind: `a = val(b)`.
type fieldCmp struct {
	l, r operand
	op   op
}

func (n *fieldCmp) eval(c *evalCtx) bool {
	switch n.l.kind() {
	case kString:
		lv, ok := n.l.str(c, 0)
		if !ok {
			return false
		}
		for i := 0; ; i++ {
			rv, ok := n.r.str(c, i)
			if !ok {
				return false
			}
			if matchStrDyn(n.op, lv, rv) {
				return true
			}
			if !n.op.isList() {
				return false
			}
		}
	case kNum, kBool:
		lv, ok := n.l.num(c, 0)
		if !ok {
			return false
		}
		for i := 0; ; i++ {
			rv, ok := n.r.num(c, i)
			if !ok {
				return false
			}
			t := numCmp{op: n.op, vals: []int64{rv}}
			if n.op.isList() {
				t.op = opEq
			}
			if t.match(lv) {
				return true
			}
			if !n.op.isList() {
				return false
			}
		}
	default:
		lv, ok := n.l.ip(c, 0)
		if !ok {
			return false
		}
		rv, ok := n.r.ip(c, 0)
		if !ok {
			return false
		}
		if n.op == opNe {
			return lv != rv
		}
		return lv == rv
	}
}

func (n *fieldCmp) partial(c *evalCtx) tri {
	if n.l.static() && n.r.static() {
		return triOf(n.eval(c))
	}
	return unknown
}

func matchStrDyn(o op, v, x string) bool {
	switch o {
	case opEq, opIn, opIntersects:
		return v == x
	case opNe:
		return v != x
	case opLt:
		return v < x
	case opLe:
		return v <= x
	case opGt:
		return v > x
	case opGe:
		return v >= x
	case opContains:
		return strings.Contains(v, x)
	case opIContains:
		return containsFold(v, x)
	case opStartsWith:
		return strings.HasPrefix(v, x)
	case opEndsWith:
		return strings.HasSuffix(v, x)
	case opGlob:
		return globMatch(x, v, false)
	case opIGlob:
		return globMatch(x, v, true)
	case opPmatch:
		return pathUnder(v, x)
	}
	return false
}

// containsFold reports whether sub occurs in s ignoring case, without
// allocating.
func containsFold(s, sub string) bool {
	n := len(sub)
	if n == 0 {
		return true
	}
	if sub[0] >= utf8.RuneSelf {
		for i := 0; i+n <= len(s); i++ {
			if strings.EqualFold(s[i:i+n], sub) {
				return true
			}
		}
		return false
	}
	c0 := lowerASCII(sub[0])
	for i := 0; i+n <= len(s); i++ {
		if lowerASCII(s[i]) == c0 && strings.EqualFold(s[i:i+n], sub) {
			return true
		}
	}
	return false
}

// pathUnder reports whether path equals dir or lies below it, comparing
// whole path components (Falco's pmatch).
func pathUnder(path, dir string) bool {
	if dir == "/" {
		return strings.HasPrefix(path, "/")
	}
	dir = strings.TrimRight(dir, "/")
	if dir == "" {
		return false
	}
	if !strings.HasPrefix(path, dir) {
		return false
	}
	return len(path) == len(dir) || path[len(dir)] == '/'
}

func lowerASCII(b byte) byte {
	if b >= 'A' && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

func byteEq(a, b byte, fold bool) bool {
	if fold {
		return lowerASCII(a) == lowerASCII(b)
	}
	return a == b
}

// globMatch matches s against an fnmatch(3) pattern without FNM_PATHNAME,
// as Falco's glob operator does: '*' also matches '/'.
func globMatch(pattern, s string, fold bool) bool {
	px, sx := 0, 0
	starPx, starSx := -1, -1
	for px < len(pattern) || sx < len(s) {
		if px < len(pattern) {
			switch c := pattern[px]; c {
			case '*':
				starPx, starSx = px, sx
				px++
				continue
			case '?':
				if sx < len(s) {
					_, w := utf8.DecodeRuneInString(s[sx:])
					px++
					sx += w
					continue
				}
			case '[':
				if sx < len(s) {
					ok, width, valid := matchClass(pattern[px:], s[sx], fold)
					if !valid {
						if s[sx] == '[' {
							px++
							sx++
							continue
						}
					} else if ok {
						px += width
						sx++
						continue
					}
				}
			case '\\':
				if px+1 < len(pattern) {
					if sx < len(s) && byteEq(pattern[px+1], s[sx], fold) {
						px += 2
						sx++
						continue
					}
				} else if sx < len(s) && s[sx] == '\\' {
					px++
					sx++
					continue
				}
			default:
				if sx < len(s) && byteEq(c, s[sx], fold) {
					px++
					sx++
					continue
				}
			}
		}
		if starPx >= 0 && starSx < len(s) {
			starSx++
			px, sx = starPx+1, starSx
			continue
		}
		return false
	}
	return true
}

// matchClass matches b against the bracket expression at the start of
// pattern. valid is false when the bracket is not closed.
func matchClass(pattern string, b byte, fold bool) (ok bool, width int, valid bool) {
	i := 1
	negate := false
	if i < len(pattern) && (pattern[i] == '!' || pattern[i] == '^') {
		negate = true
		i++
	}
	matched := false
	first := true
	for i < len(pattern) {
		c := pattern[i]
		if c == ']' && !first {
			if negate {
				matched = !matched
			}
			return matched, i + 1, true
		}
		first = false
		lo := c
		if c == '\\' && i+1 < len(pattern) {
			i++
			lo = pattern[i]
		}
		hi := lo
		if i+2 < len(pattern) && pattern[i+1] == '-' && pattern[i+2] != ']' {
			hi = pattern[i+2]
			i += 2
		}
		if fold {
			lb := lowerASCII(b)
			if (lowerASCII(lo) <= lb && lb <= lowerASCII(hi)) || (lo <= b && b <= hi) {
				matched = true
			}
		} else if lo <= b && b <= hi {
			matched = true
		}
		i++
	}
	return false, 0, false
}
