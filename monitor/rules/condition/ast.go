package condition

import (
	"strings"
)

// Pos is a position in a condition string. Offset is a 0-based byte index;
// Line and Col are 1-based, counted as libsinsp counts them.
type Pos struct {
	Offset, Line, Col int
}

// Expr is a boolean expression: *And, *Or, *Not, *Ident or *Check.
type Expr interface {
	// Position returns where the expression starts in the input.
	Position() Pos
	// String renders the expression as condition text that Parse accepts
	// and that parses back to an equal tree.
	String() string
	expr()
}

// Operand is the left-hand side of a check (or the argument of a
// transformer): *Field, *Transformer, or (only as a transformer argument)
// *Literal and *LiteralList.
type Operand interface {
	String() string
	operand()
}

// Value is the right-hand side of a binary check: *Literal, *List,
// *ListRef or *FieldValue.
type Value interface {
	String() string
	value()
}

// And is a conjunction of two or more expressions.
type And struct {
	Children []Expr
	Pos      Pos
}

// Or is a disjunction of two or more expressions.
type Or struct {
	Children []Expr
	Pos      Pos
}

// Not negates its child.
type Not struct {
	Child Expr
	Pos   Pos
}

// Ident is a bare identifier in boolean position: a macro reference.
type Ident struct {
	Name string
	Pos  Pos
}

// Check compares an operand with a value: `proc.name in (a, b)`. Right is
// nil for the unary operator `exists`.
type Check struct {
	Left  Operand
	Op    string // the operator as Falco spells it: "=", "in", "exists", ...
	Right Value
	Pos   Pos
}

// Field names a field, with its optional argument: proc.aname[2] has
// Name "proc.aname", Arg "2", HasArg true.
type Field struct {
	Name   string
	Arg    string
	HasArg bool
	Pos    Pos
}

// Transformer applies a field transformer such as tolower(proc.name), or is
// the val(field) form on a right-hand side (Name "val").
type Transformer struct {
	Name string
	Args []Operand
	Pos  Pos
}

// Literal is a single value: a bare word, a number or a quoted string
// (already unescaped; Quoted tells which).
type Literal struct {
	Text   string
	Quoted bool
	Pos    Pos
}

// List is a parenthesised list of values: `(a, "b c", 80)`.
type List struct {
	Items []*Literal
	Pos   Pos
}

// LiteralList is a parenthesised list used as a transformer argument.
type LiteralList struct {
	Items []Operand
	Pos   Pos
}

// ListRef is a bare identifier used as the value of a list operator:
// `proc.name in shell_binaries`.
type ListRef struct {
	Name string
	Pos  Pos
}

// FieldValue is a field (possibly transformed) used as a right-hand side:
// `proc.name = val(proc.pname)` or `fd.name = tolower(fd.directory)`.
type FieldValue struct {
	Operand Operand
	Pos     Pos
}

func (*And) expr()   {}
func (*Or) expr()    {}
func (*Not) expr()   {}
func (*Ident) expr() {}
func (*Check) expr() {}

func (*Field) operand()       {}
func (*Transformer) operand() {}
func (*Literal) operand()     {}
func (*LiteralList) operand() {}

func (*Literal) value()    {}
func (*List) value()       {}
func (*ListRef) value()    {}
func (*FieldValue) value() {}

// Position implements Expr.
func (e *And) Position() Pos { return e.Pos }

// Position implements Expr.
func (e *Or) Position() Pos { return e.Pos }

// Position implements Expr.
func (e *Not) Position() Pos { return e.Pos }

// Position implements Expr.
func (e *Ident) Position() Pos { return e.Pos }

// Position implements Expr.
func (e *Check) Position() Pos { return e.Pos }

func joinExprs(children []Expr, sep string) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, c := range children {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(c.String())
	}
	b.WriteByte(')')
	return b.String()
}

func (e *And) String() string   { return joinExprs(e.Children, " and ") }
func (e *Or) String() string    { return joinExprs(e.Children, " or ") }
func (e *Not) String() string   { return "not (" + e.Child.String() + ")" }
func (e *Ident) String() string { return e.Name }

func (e *Check) String() string {
	if e.Right == nil {
		return e.Left.String() + " " + e.Op
	}
	return e.Left.String() + " " + e.Op + " " + e.Right.String()
}

func (f *Field) String() string {
	if !f.HasArg {
		return f.Name
	}
	if isFieldArgBare(f.Arg) {
		return f.Name + "[" + f.Arg + "]"
	}
	return f.Name + "[" + Quote(f.Arg) + "]"
}

func (t *Transformer) String() string {
	var b strings.Builder
	b.WriteString(t.Name)
	b.WriteByte('(')
	for i, a := range t.Args {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.String())
	}
	b.WriteByte(')')
	return b.String()
}

func (l *Literal) String() string {
	if !l.Quoted && isBareStr(l.Text) {
		return l.Text
	}
	return Quote(l.Text)
}

func (l *List) String() string {
	var b strings.Builder
	b.WriteByte('(')
	for i, it := range l.Items {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(it.String())
	}
	b.WriteByte(')')
	return b.String()
}

func (l *LiteralList) String() string {
	var b strings.Builder
	b.WriteByte('(')
	for i, it := range l.Items {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(it.String())
	}
	b.WriteByte(')')
	return b.String()
}

func (l *ListRef) String() string { return l.Name }
func (v *FieldValue) String() string {
	if f, ok := v.Operand.(*Field); ok {
		return "val(" + f.String() + ")"
	}
	return v.Operand.String()
}

// Quote renders s as a double-quoted condition string that the parser
// unescapes back to s. A backslash is written as `\ `, the one escape
// libsinsp's lexer never mistakes for an escaped closing quote.
func Quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\ `)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Walk calls fn for every expression in the tree rooted at e, parents
// before children, and stops descending where fn returns false.
func Walk(e Expr, fn func(Expr) bool) {
	if e == nil || !fn(e) {
		return
	}
	switch n := e.(type) {
	case *And:
		for _, c := range n.Children {
			Walk(c, fn)
		}
	case *Or:
		for _, c := range n.Children {
			Walk(c, fn)
		}
	case *Not:
		Walk(n.Child, fn)
	}
}
