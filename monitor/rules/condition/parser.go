package condition

import (
	"errors"
	"fmt"
	"strings"
)

// ErrSyntax is wrapped by every error Parse returns.
var ErrSyntax = errors.New("condition syntax error")

// SyntaxError describes why a condition does not parse and where.
type SyntaxError struct {
	Msg string
	Pos Pos
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s (line %d, column %d)", e.Msg, e.Pos.Line, e.Pos.Col)
}

// Unwrap lets errors.Is(err, ErrSyntax) match.
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

// MaxDepth bounds the parser's recursion, as Falco's rule compiler does.
const MaxDepth = 1000

var (
	unaryOps   = []string{"exists"}
	numOps     = []string{"<=", "<", ">=", ">"}
	strOps     = []string{"==", "=", "!=", "glob ", "iglob ", "contains ", "icontains ", "bcontains ", "startswith ", "bstartswith ", "endswith ", "regex "}
	listOps    = []string{"intersects", "in", "pmatch"}
	transforms = []string{"tolower(", "toupper(", "b64(", "basename(", "len(", "join("}
)

// Operators returns every check operator the grammar accepts.
func Operators() []string {
	var ops []string
	for _, l := range [][]string{unaryOps, numOps, strOps, listOps} {
		for _, o := range l {
			ops = append(ops, strings.TrimSpace(o))
		}
	}
	return ops
}

// IsListOperator reports whether op takes a list value (in, intersects, pmatch).
func IsListOperator(op string) bool {
	for _, o := range listOps {
		if o == op {
			return true
		}
	}
	return false
}

// IsOperator reports whether op is a check operator of the grammar.
func IsOperator(op string) bool {
	for _, o := range Operators() {
		if o == op {
			return true
		}
	}
	return false
}

type parser struct {
	in    string
	pos   Pos
	depth int
	last  string
}

type parsePanic struct{ err *SyntaxError }

// Parse parses a complete condition.
func Parse(input string) (expr Expr, err error) {
	p := &parser{in: input, pos: Pos{Line: 1, Col: 1}}
	defer func() {
		if r := recover(); r != nil {
			pp, ok := r.(parsePanic)
			if !ok {
				panic(r)
			}
			expr, err = nil, pp.err
		}
	}()
	if len(input) == 0 {
		p.fail("filter input string is empty")
	}
	e := p.parseOr()
	if p.pos.Offset != len(p.in) {
		p.fail("unexpected token after '" + p.last + "', expecting 'or', 'and'")
	}
	return e, nil
}

func (p *parser) fail(msg string) {
	panic(parsePanic{&SyntaxError{Msg: msg, Pos: p.pos}})
}

func (p *parser) push() {
	p.depth++
	if p.depth >= MaxDepth {
		p.fail(fmt.Sprintf("exceeded max depth limit of %d", MaxDepth))
	}
}

func (p *parser) pop() { p.depth-- }

func (p *parser) advance(n int) {
	for i := 0; i < n; i++ {
		c := p.in[p.pos.Offset]
		p.pos.Col++
		if c == '\r' || c == '\n' {
			p.pos.Col = 1
			p.pos.Line++
		}
		p.pos.Offset++
	}
}

func (p *parser) rest() string { return p.in[p.pos.Offset:] }

func (p *parser) peek() byte {
	if p.pos.Offset < len(p.in) {
		return p.in[p.pos.Offset]
	}
	return 0
}

// take consumes n bytes and records them as the last token.
func (p *parser) take(n int) string {
	tok := p.in[p.pos.Offset : p.pos.Offset+n]
	p.advance(n)
	p.last = tok
	return tok
}

func (p *parser) blank() bool {
	found := false
	for {
		switch p.peek() {
		case ' ', '\t', '\b', '\r', '\n':
			found = true
			p.advance(1)
		default:
			return found
		}
	}
}

func (p *parser) lit(s string) bool {
	if strings.HasPrefix(p.rest(), s) {
		p.take(len(s))
		return true
	}
	return false
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isIdentChar(c byte) bool {
	return isAlpha(c) || isDigit(c) || c == '_'
}
func isHex(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// identLen is the length of [a-zA-Z]+[a-zA-Z0-9_]* at the start of s.
func identLen(s string) int {
	if len(s) == 0 || !isAlpha(s[0]) {
		return 0
	}
	n := 1
	for n < len(s) && isIdentChar(s[n]) {
		n++
	}
	return n
}

// fieldNameLen is the length of ident(\.ident)+ at the start of s, or 0.
func fieldNameLen(s string) int {
	n := identLen(s)
	if n == 0 {
		return 0
	}
	parts := 0
	for n+1 < len(s) && s[n] == '.' {
		m := identLen(s[n+1:])
		if m == 0 {
			break
		}
		n += 1 + m
		parts++
	}
	if parts == 0 {
		return 0
	}
	return n
}

func isBareChar(c byte) bool {
	return !isSpace(c) && c != '(' && c != ')' && c != '"' && c != '\'' && c != '=' && c != ',' && c != 0
}

func isFieldArgBareChar(c byte) bool {
	return !isSpace(c) && c != '[' && c != ']' && c != '"' && c != '\'' && c != 0
}

func isBareStr(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isBareChar(s[i]) {
			return false
		}
	}
	return true
}

func isFieldArgBare(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isFieldArgBareChar(s[i]) {
			return false
		}
	}
	return true
}

func spanLen(s string, ok func(byte) bool) int {
	n := 0
	for n < len(s) && ok(s[n]) {
		n++
	}
	return n
}

func (p *parser) lexIdent() bool {
	if n := identLen(p.rest()); n > 0 {
		p.take(n)
		return true
	}
	return false
}

func (p *parser) lexFieldName() bool {
	if n := fieldNameLen(p.rest()); n > 0 {
		p.take(n)
		return true
	}
	return false
}

func (p *parser) lexNotBlank() bool {
	s := p.rest()
	if !strings.HasPrefix(s, "not") {
		return false
	}
	n := spanLen(s[3:], isSpace)
	if n == 0 {
		return false
	}
	p.take(3 + n)
	return true
}

func (p *parser) lexHexNum() bool {
	s := p.rest()
	if len(s) < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') {
		return false
	}
	n := spanLen(s[2:], isHex)
	if n == 0 {
		return false
	}
	p.take(2 + n)
	return true
}

// numLen is the length of [+\-]?[0-9]+[\.]?[0-9]*([eE][+\-][0-9]+)? at the start of s.
func numLen(s string) int {
	n := 0
	if n < len(s) && (s[n] == '+' || s[n] == '-') {
		n++
	}
	d := spanLen(s[n:], isDigit)
	if d == 0 {
		return 0
	}
	n += d
	if n < len(s) && s[n] == '.' {
		n++
	}
	n += spanLen(s[n:], isDigit)
	if n+2 < len(s) && (s[n] == 'e' || s[n] == 'E') && (s[n+1] == '+' || s[n+1] == '-') {
		if d := spanLen(s[n+2:], isDigit); d > 0 {
			n += 2 + d
		}
	}
	return n
}

func (p *parser) lexNum() bool {
	if n := numLen(p.rest()); n > 0 {
		p.take(n)
		return true
	}
	return false
}

func (p *parser) lexBareStr() bool {
	if n := spanLen(p.rest(), isBareChar); n > 0 {
		p.take(n)
		return true
	}
	return false
}

func (p *parser) lexFieldArgBareStr() bool {
	if n := spanLen(p.rest(), isFieldArgBareChar); n > 0 {
		p.take(n)
		return true
	}
	return false
}

// lexQuoted lexes a quoted string the way libsinsp does: the string ends at
// the first delimiter not preceded by a backslash. p.last holds the
// unescaped text.
func (p *parser) lexQuoted() bool {
	s := p.rest()
	if len(s) == 0 || (s[0] != '"' && s[0] != '\'') {
		return false
	}
	delim := s[0]
	prev := byte('\\')
	for i := 0; i < len(s) && s[i] != 0; i++ {
		if s[i] == delim && prev != '\\' {
			start := p.pos
			raw := s[:i+1]
			p.advance(i + 1)
			text, msg := unescape(raw)
			if msg != "" {
				p.pos = start
				p.fail(msg)
			}
			p.last = text
			return true
		}
		prev = s[i]
	}
	return false
}

// unescape strips the delimiters of a quoted token and resolves escapes
// exactly as libsinsp's unescape_str does.
func unescape(raw string) (string, string) {
	var b strings.Builder
	escaped := false
	for i := 1; i < len(raw)-1; i++ {
		c := raw[i]
		if !escaped {
			if c == '\\' {
				escaped = true
			} else {
				b.WriteByte(c)
			}
			continue
		}
		switch c {
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case ' ', '\\':
			b.WriteByte('\\')
		case '/':
			b.WriteByte('/')
		case '"':
			if raw[0] != c {
				return "", `invalid \" escape in '-quoted string`
			}
			b.WriteByte('"')
		case '\'':
			if raw[0] != c {
				return "", `invalid \' escape in "-quoted string`
			}
			b.WriteByte('\'')
		default:
			return "", `unsupported string escape sequence: \` + string(c)
		}
		escaped = false
	}
	return b.String(), ""
}

// lexOp matches one operator of list; operators spelled with a trailing
// space must be followed by a blank.
func (p *parser) lexOp(list []string) (string, bool) {
	for _, op := range list {
		if !strings.HasSuffix(op, " ") {
			if p.lit(op) {
				return op, true
			}
			continue
		}
		save := p.pos
		word := strings.TrimSpace(op)
		if p.lit(word) {
			if p.blank() {
				return word, true
			}
			p.pos = save
		}
	}
	return "", false
}

func (p *parser) lexTransformer() (string, bool) {
	for _, t := range transforms {
		if p.lit(t) {
			return strings.TrimSuffix(t, "("), true
		}
	}
	return "", false
}

func (p *parser) parseOr() Expr {
	p.push()
	defer p.pop()
	pos := p.pos
	p.blank()
	children := []Expr{p.parseAnd()}
	p.blank()
	for p.lit("or") {
		var child Expr
		if !p.blank() {
			if !p.lit("(") {
				p.fail("expected blank or '(' after 'or'")
			}
			child = p.parseEmbedded()
		} else {
			child = p.parseAnd()
		}
		children = append(children, child)
		p.blank()
	}
	if len(children) > 1 {
		return &Or{Children: children, Pos: pos}
	}
	return children[0]
}

func (p *parser) parseAnd() Expr {
	p.push()
	defer p.pop()
	pos := p.pos
	p.blank()
	children := []Expr{p.parseNot()}
	p.blank()
	for p.lit("and") {
		var child Expr
		if !p.blank() {
			if !p.lit("(") {
				p.fail("expected blank or '(' after 'and'")
			}
			child = p.parseEmbedded()
		} else {
			child = p.parseNot()
		}
		children = append(children, child)
		p.blank()
	}
	if len(children) > 1 {
		return &And{Children: children, Pos: pos}
	}
	return children[0]
}

func (p *parser) parseNot() Expr {
	p.push()
	defer p.pop()
	pos := p.pos
	p.blank()
	neg := false
	for p.lexNotBlank() {
		neg = !neg
	}
	var child Expr
	if p.lit("not(") {
		neg = !neg
		child = p.parseEmbedded()
	} else {
		child = p.parseCheck()
	}
	if neg {
		return &Not{Child: child, Pos: pos}
	}
	return child
}

// parseEmbedded parses the rest of a parenthesised expression after "(".
func (p *parser) parseEmbedded() Expr {
	p.push()
	defer p.pop()
	p.blank()
	child := p.parseOr()
	p.blank()
	if !p.lit(")") {
		p.fail("expected a ')' token")
	}
	return child
}

func (p *parser) parseCheck() Expr {
	p.push()
	defer p.pop()
	pos := p.pos
	p.blank()
	if p.lit("(") {
		return p.parseEmbedded()
	}
	if p.lexFieldName() {
		left := p.parseFieldRemainder(p.last, pos)
		return p.parseCondition(left, pos)
	}
	if name, ok := p.lexTransformer(); ok {
		p.blank()
		left := p.parseTransformerRemainder(name, pos)
		return p.parseCondition(left, pos)
	}
	if p.lexIdent() {
		return &Ident{Name: p.last, Pos: pos}
	}
	p.fail("expected a '(' token, a field check, or an identifier")
	return nil
}

func (p *parser) parseFieldRemainder(name string, pos Pos) *Field {
	f := &Field{Name: name, Pos: pos}
	if p.lit("[") {
		if !p.lexQuoted() && !p.lexFieldArgBareStr() {
			p.fail("expected a valid field argument: a quoted string or a bare string")
		}
		f.Arg, f.HasArg = p.last, true
		if !p.lit("]") {
			p.fail("expected a ']' token")
		}
	}
	return f
}

func (p *parser) parseTransformerRemainder(name string, pos Pos) *Transformer {
	p.push()
	defer p.pop()
	p.blank()
	t := &Transformer{Name: name, Pos: pos}
	for {
		t.Args = append(t.Args, p.parseTransformerArg())
		p.blank()
		if !p.lit(",") {
			break
		}
	}
	p.blank()
	if !p.lit(")") {
		p.fail("expected a ')' token closing the transformer")
	}
	return t
}

func (p *parser) parseTransformerArg() Operand {
	p.push()
	defer p.pop()
	p.blank()
	pos := p.pos
	if p.lexHexNum() || p.lexNum() {
		return &Literal{Text: p.last, Pos: pos}
	}
	if p.lexQuoted() {
		return &Literal{Text: p.last, Quoted: true, Pos: pos}
	}
	if p.lit("(") {
		return p.parseTransformerList(pos)
	}
	if name, ok := p.lexTransformer(); ok {
		return p.parseTransformerRemainder(name, pos)
	}
	if p.lexFieldName() {
		return p.parseFieldRemainder(p.last, pos)
	}
	p.fail("expected field transformer argument: field, transformer, quoted string, number, or transformer list")
	return nil
}

func (p *parser) parseTransformerList(pos Pos) *LiteralList {
	p.push()
	defer p.pop()
	l := &LiteralList{Pos: pos}
	p.blank()
	if p.lit(")") {
		return l
	}
	l.Items = append(l.Items, p.parseTransformerListArg())
	p.blank()
	for p.lit(",") {
		p.blank()
		l.Items = append(l.Items, p.parseTransformerListArg())
		p.blank()
	}
	if !p.lit(")") {
		p.fail("expected ')'")
	}
	return l
}

func (p *parser) parseTransformerListArg() Operand {
	pos := p.pos
	if p.lexFieldName() {
		return p.parseFieldRemainder(p.last, pos)
	}
	if name, ok := p.lexTransformer(); ok {
		p.blank()
		return p.parseTransformerRemainder(name, pos)
	}
	if p.lexQuoted() {
		return &Literal{Text: p.last, Quoted: true, Pos: pos}
	}
	if p.lexHexNum() || p.lexNum() {
		return &Literal{Text: p.last, Pos: pos}
	}
	p.fail("expected transformer list argument: field, transformer, quoted string, or number")
	return nil
}

func (p *parser) parseCondition(left Operand, pos Pos) Expr {
	p.push()
	defer p.pop()
	p.blank()
	if op, ok := p.lexOp(unaryOps); ok {
		return &Check{Left: left, Op: op, Pos: pos}
	}
	p.blank()
	if op, ok := p.lexOp(numOps); ok {
		return &Check{Left: left, Op: op, Right: p.parseNumValue(), Pos: pos}
	}
	if op, ok := p.lexOp(strOps); ok {
		return &Check{Left: left, Op: op, Right: p.parseStrValue(false), Pos: pos}
	}
	if op, ok := p.lexOp(listOps); ok {
		return &Check{Left: left, Op: op, Right: p.parseListValue(), Pos: pos}
	}
	quoted := make([]string, 0, 20)
	for _, o := range Operators() {
		quoted = append(quoted, "'"+o+"'")
	}
	p.fail("expected a valid check operator: one of " + strings.Join(quoted, ", "))
	return nil
}

func transformerNames() string {
	names := []string{"'val'"}
	for _, t := range transforms {
		names = append(names, "'"+strings.TrimSuffix(t, "(")+"'")
	}
	return strings.Join(names, ", ")
}

func (p *parser) parseNumValue() Value {
	p.push()
	defer p.pop()
	p.blank()
	pos := p.pos
	if v := p.tryTransformerOrVal(); v != nil {
		return v
	}
	if p.lexHexNum() || p.lexNum() {
		return &Literal{Text: p.last, Pos: pos}
	}
	p.fail("expected a number value or a field with a valid transformer: " + transformerNames())
	return nil
}

func (p *parser) parseStrValue(noTransformer bool) Value {
	p.push()
	defer p.pop()
	p.blank()
	pos := p.pos
	if !noTransformer {
		if v := p.tryTransformerOrVal(); v != nil {
			return v
		}
	}
	if p.lexQuoted() {
		return &Literal{Text: p.last, Quoted: true, Pos: pos}
	}
	if p.lexBareStr() {
		return &Literal{Text: p.last, Pos: pos}
	}
	if noTransformer {
		p.fail("expected a string value")
	}
	p.fail("expected a string value or a field with a valid transformer: " + transformerNames())
	return nil
}

// tryListItem parses one list item, or reports false (position restored)
// when there is none.
func (p *parser) tryListItem() (item *Literal, ok bool) {
	save, depth := p.pos, p.depth
	defer func() {
		if r := recover(); r != nil {
			if _, isParse := r.(parsePanic); !isParse {
				panic(r)
			}
			p.pos, p.depth = save, depth
			item, ok = nil, false
		}
	}()
	return p.parseStrValue(true).(*Literal), true
}

func (p *parser) parseListValue() Value {
	p.push()
	defer p.pop()
	p.blank()
	pos := p.pos
	if p.lit("(") {
		l := &List{Pos: pos}
		p.blank()
		if first, ok := p.tryListItem(); ok {
			l.Items = append(l.Items, first)
			p.blank()
			for p.lit(",") {
				l.Items = append(l.Items, p.parseStrValue(true).(*Literal))
				p.blank()
			}
		}
		if !p.lit(")") {
			p.fail("expected a ')' token")
		}
		return l
	}
	if v := p.tryTransformerOrVal(); v != nil {
		return v
	}
	if p.lexIdent() {
		return &ListRef{Name: p.last, Pos: pos}
	}
	p.fail("expected a list, an identifier, or a field with a valid transformer: " + transformerNames())
	return nil
}

func (p *parser) tryTransformerOrVal() Value {
	p.push()
	defer p.pop()
	p.blank()
	pos := p.pos
	if p.lit("val(") {
		p.blank()
		fpos := p.pos
		if !p.lexFieldName() {
			p.fail("expected a field within 'val' transformer")
		}
		f := p.parseFieldRemainder(p.last, fpos)
		p.blank()
		if !p.lit(")") {
			p.fail("expected a ')' token closing the transformer")
		}
		return &FieldValue{Operand: f, Pos: pos}
	}
	if name, ok := p.lexTransformer(); ok {
		p.blank()
		return &FieldValue{Operand: p.parseTransformerRemainder(name, pos), Pos: pos}
	}
	return nil
}

// Unquote returns the text of s when s is exactly one quoted string token
// ('..' or "..", escapes resolved as the parser does); ok is false otherwise.
// The loader uses it for list items such as '"75-system-updat"'.
func Unquote(s string) (text string, ok bool) {
	if len(s) < 2 || (s[0] != '"' && s[0] != '\'') {
		return "", false
	}
	defer func() {
		if r := recover(); r != nil {
			if _, isParse := r.(parsePanic); !isParse {
				panic(r)
			}
			text, ok = "", false
		}
	}()
	p := &parser{in: s, pos: Pos{Line: 1, Col: 1}}
	if !p.lexQuoted() || p.pos.Offset != len(s) {
		return "", false
	}
	return p.last, true
}
