// Package condition parses the Falco filter language — the text of a rule's
// or macro's `condition` — into an abstract syntax tree.
//
// The grammar, tokens and error messages follow libsinsp's filter parser
// (userspace/libsinsp/filter/parser.cpp): and/or/not with Falco's
// precedence (not > and > or), parenthesised sub-expressions, field checks
// `field[arg] op value`, the unary `exists`, list values `(a, "b c")`, bare
// identifiers (macro references, or list references after a list operator),
// the field transformers tolower/toupper/b64/basename/len/join and `val(field)`
// on the right-hand side.
//
// The package is purely syntactic: it does not know which fields exist, what
// a macro or list means, or how values compare. Parse never panics on any
// input; it returns a *SyntaxError that carries the position of the problem.
package condition
