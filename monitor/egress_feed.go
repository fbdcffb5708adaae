package monitor

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// ErrFeed is wrapped by every error ParseFeed returns; the message names
// the file and line.
var ErrFeed = errors.New("invalid deny file")

// ParseFeed parses a threat feed: one IPv4 or IPv6 address or CIDR per
// line ("192.0.2.1", "198.51.100.0/24", "2001:db8::/32"); "#" and ";"
// start a comment, to the end of the line (as in FireHOL netsets and
// Spamhaus DROP lists); blank lines are skipped. An address is the prefix
// of that one address. A CIDR with host bits set, a zone, or more than one
// field on a line is an error naming name and the line: a feed vigil
// misreads would block the wrong addresses.
func ParseFeed(data []byte, name string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for n := 1; len(data) > 0; n++ {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if i := bytes.IndexAny(line, "#;"); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(string(line))
		switch len(fields) {
		case 0:
			continue
		case 1:
		default:
			return nil, fmt.Errorf("%w: %s:%d: %q: want one address or CIDR per line", ErrFeed, name, n, strings.Join(fields, " "))
		}
		p, err := parseFeedEntry(fields[0])
		if err != nil {
			return nil, fmt.Errorf("%w: %s:%d: %w", ErrFeed, name, n, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func parseFeedEntry(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR", s)
		}
		if p.Addr().Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q has a zone", s)
		}
		if m := p.Masked(); m != p {
			return netip.Prefix{}, fmt.Errorf("%q has host bits set (did you mean %s?)", s, m)
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR", s)
	}
	if a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q has a zone", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
