package seccomp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// node is one JSON value with the byte offset where it ends in the input, so
// that validation errors can name a line. Decoding goes through
// encoding/json's tokenizer; only the positions are tracked here.
type node struct {
	kind   byte // '{' object, '[' array, 's' string, 'n' number, 'b' bool, '0' null
	off    int64
	str    string
	num    json.Number
	keys   []string         // object keys in input order
	fields map[string]*node // object members
	items  []*node          // array elements
}

func (n *node) kindName() string {
	switch n.kind {
	case '{':
		return "object"
	case '[':
		return "array"
	case 's':
		return "string"
	case 'n':
		return "number"
	case 'b':
		return "boolean"
	default:
		return "null"
	}
}

// parseTree decodes data into a tree of located nodes. It rejects trailing
// data and duplicate object keys (encoding/json silently keeps the last one,
// which would hide half of a profile).
func parseTree(data []byte) (*node, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	root, err := parseValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &posError{off: dec.InputOffset(), msg: "unexpected data after the top-level value"}
	}
	return root, nil
}

func parseValue(dec *json.Decoder) (*node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, tokenError(dec, err)
	}
	return parseFrom(dec, tok)
}

func parseFrom(dec *json.Decoder, tok json.Token) (*node, error) {
	n := &node{off: dec.InputOffset()}
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			n.kind = '{'
			n.fields = map[string]*node{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, tokenError(dec, err)
				}
				key, ok := kt.(string)
				if !ok {
					return nil, &posError{off: dec.InputOffset(), msg: "object key is not a string"}
				}
				keyOff := dec.InputOffset()
				if _, dup := n.fields[key]; dup {
					return nil, &posError{off: keyOff, msg: fmt.Sprintf("duplicate key %q", key)}
				}
				child, err := parseValue(dec)
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, key)
				n.fields[key] = child
			}
			if _, err := dec.Token(); err != nil {
				return nil, tokenError(dec, err)
			}
		case '[':
			n.kind = '['
			for dec.More() {
				child, err := parseValue(dec)
				if err != nil {
					return nil, err
				}
				n.items = append(n.items, child)
			}
			if _, err := dec.Token(); err != nil {
				return nil, tokenError(dec, err)
			}
		default:
			return nil, &posError{off: dec.InputOffset(), msg: fmt.Sprintf("unexpected %q", v)}
		}
	case string:
		n.kind, n.str = 's', v
	case json.Number:
		n.kind, n.num = 'n', v
	case bool:
		n.kind = 'b'
	case nil:
		n.kind = '0'
	default:
		return nil, &posError{off: dec.InputOffset(), msg: fmt.Sprintf("unexpected token %v", tok)}
	}
	return n, nil
}

// posError is an error at a byte offset of the input.
type posError struct {
	off int64
	msg string
}

func (e *posError) Error() string { return e.msg }

func tokenError(dec *json.Decoder, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &posError{off: se.Offset, msg: "invalid JSON: " + se.Error()}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &posError{off: dec.InputOffset(), msg: "invalid JSON: unexpected end of input"}
	}
	return &posError{off: dec.InputOffset(), msg: "invalid JSON: " + err.Error()}
}

// lineOf returns the 1-based line of byte offset off in data. An offset at
// the end of a line's last token belongs to that line.
func lineOf(data []byte, off int64) int {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	if off < 0 {
		off = 0
	}
	return bytes.Count(data[:off], []byte{'\n'}) + 1
}
