package rules

import (
	"strconv"
	"strings"

	"github.com/vigil-dev/vigil/monitor/event"
)

// outSeg is a piece of an output format: literal text, or a field.
type outSeg struct {
	lit string
	key string  // the field as written (output_fields key); "" for literal text
	o   operand // nil when vigil cannot produce the field
}

type outputFormat struct {
	segs        []outSeg
	keys        []string
	unsupported []string
}

// containerInfo is what Falco substitutes for %container.info by default.
const containerInfo = "%container.name (id=%container.id)"

func isFieldChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.'
}

// compileOutput parses an output format: %field, %field[arg] and %(field)
// are substituted, anything else is literal.
func compileOutput(s string) *outputFormat {
	s = strings.ReplaceAll(s, "%container.info", containerInfo)
	f := &outputFormat{}
	seen := map[string]bool{}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			f.segs = append(f.segs, outSeg{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		if s[i] != '%' {
			lit.WriteByte(s[i])
			i++
			continue
		}
		var tok string
		end := i + 1
		if i+1 < len(s) && s[i+1] == '(' {
			j := strings.IndexByte(s[i+2:], ')')
			if j < 0 {
				lit.WriteString(s[i:])
				break
			}
			tok, end = strings.TrimSpace(s[i+2:i+2+j]), i+2+j+1
		} else {
			j := i + 1
			for j < len(s) && isFieldChar(s[j]) {
				j++
			}
			for j > i+1 && s[j-1] == '.' { // a trailing dot is punctuation
				j--
			}
			if j < len(s) && s[j] == '[' {
				if k := strings.IndexByte(s[j:], ']'); k > 0 {
					j += k + 1
				}
			}
			tok, end = s[i+1:j], j
		}
		if tok == "" {
			lit.WriteByte('%')
			i++
			continue
		}
		flush()
		seg := outSeg{key: tok}
		name, arg, hasArg := tok, "", false
		if k := strings.IndexByte(tok, '['); k > 0 && strings.HasSuffix(tok, "]") {
			name, arg, hasArg = tok[:k], tok[k+1:len(tok)-1], true
			if t, ok := unquoteArg(arg); ok {
				arg = t
			}
		}
		if def, a, reason, err := lookupField(name, arg, hasArg); err == nil && reason == "" {
			seg.o = &fieldOperand{def: def, arg: a}
		} else if !seen[tok] {
			f.unsupported = append(f.unsupported, tok)
		}
		f.segs = append(f.segs, seg)
		if !seen[tok] {
			seen[tok] = true
			f.keys = append(f.keys, tok)
		}
		i = end
	}
	flush()
	return f
}

func unquoteArg(s string) (string, bool) {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1], true
	}
	return "", false
}

// firstValue returns the first value of an operand, as text and as a typed
// value for JSON.
func firstValue(c *evalCtx, o operand) (string, any, bool) {
	n := 1
	if o.multi() != single {
		n = 2
	}
	for i := 0; i < n; i++ {
		switch o.kind() {
		case kString:
			if v, ok := o.str(c, i); ok {
				return v, v, true
			}
		case kNum:
			if v, ok := o.num(c, i); ok {
				return strconv.FormatInt(v, 10), v, true
			}
		case kBool:
			if v, ok := o.num(c, i); ok {
				return strconv.FormatBool(v != 0), v != 0, true
			}
		default:
			if v, ok := o.ip(c, i); ok {
				return v.String(), v.String(), true
			}
		}
		if o.multi() == anyOf {
			break
		}
	}
	return "", nil, false
}

// FormatOutput renders a rule's output for an event as Falco does: each
// %field is replaced by its value, or <NA> when the event lacks it or vigil
// cannot produce it; %container.info becomes "%container.name
// (id=%container.id)".
func FormatOutput(r *Rule, ev *event.Event) string {
	if r.format == nil {
		return r.output
	}
	c := &evalCtx{}
	c.reset(ev, 0, false)
	var b strings.Builder
	for _, s := range r.format.segs {
		if s.key == "" {
			b.WriteString(s.lit)
			continue
		}
		if s.o == nil {
			b.WriteString("<NA>")
			continue
		}
		if v, _, ok := firstValue(c, s.o); ok {
			b.WriteString(v)
		} else {
			b.WriteString("<NA>")
		}
	}
	return b.String()
}

// OutputFields returns every field the rule's output references with its
// value for ev, as Falco's output_fields: strings, int64 numbers, bools, or
// nil when the value is missing. evt.time is the epoch time in nanoseconds,
// as in Falco's JSON output.
func OutputFields(r *Rule, ev *event.Event) map[string]any {
	out := map[string]any{}
	if r.format == nil {
		return out
	}
	c := &evalCtx{}
	c.reset(ev, 0, false)
	for _, s := range r.format.segs {
		if s.key == "" {
			continue
		}
		if _, done := out[s.key]; done {
			continue
		}
		if s.o == nil {
			out[s.key] = nil
			continue
		}
		if s.key == "evt.time" {
			if ev.Time.IsZero() {
				out[s.key] = nil
			} else {
				out[s.key] = ev.Time.UnixNano()
			}
			continue
		}
		_, v, ok := firstValue(c, s.o)
		if !ok {
			v = nil
		}
		out[s.key] = v
	}
	return out
}

// OutputFieldNames lists the fields the rule's output references, in order.
func (r *Rule) OutputFieldNames() []string {
	if r.format == nil {
		return nil
	}
	return append([]string(nil), r.format.keys...)
}
