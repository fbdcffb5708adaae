package response

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestParseStat(t *testing.T) {
	tail := " S 1 2 3 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 12345 1000 100 18446744073709551615"
	cases := []struct {
		name, in string
		want     Stat
		err      string
	}{
		{"plain", "42 (sleep)" + tail, Stat{PID: 42, Comm: "sleep", State: "S", PPID: 1, StartTicks: 12345}, ""},
		{"spaces and parens", "7 (a (b) c)" + tail + "\n", Stat{PID: 7, Comm: "a (b) c", State: "S", PPID: 1, StartTicks: 12345}, ""},
		{"empty comm", "7 ()" + tail, Stat{PID: 7, Comm: "", State: "S", PPID: 1, StartTicks: 12345}, ""},
		{"no comm", "7 sleep S 1", Stat{}, "f:1: no (comm)"},
		{"bad pid", "x (sh)" + tail, Stat{}, "f:1: pid"},
		{"short", "7 (sh) S 1 2", Stat{}, "f:1: 3 fields after comm"},
		{"bad ppid", "7 (sh) S x 2 3 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 12345", Stat{}, "f:1: ppid"},
	}
	for _, tc := range cases {
		got, err := ParseStat([]byte(tc.in), "f")
		if tc.err != "" {
			if !errors.Is(err, ErrParse) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("42 (sleep) S 1 2 3 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 12345 1000"))
	f.Add([]byte("1 ((x)) R 0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := ParseStat(b, "fuzz")
		if err != nil {
			if !errors.Is(err, ErrParse) || !strings.Contains(err.Error(), "fuzz:1:") {
				t.Fatalf("error without ErrParse or position: %v", err)
			}
			return
		}
		if strings.Count(string(b), "(") == 0 || st.State == "" {
			t.Fatalf("accepted %q as %+v", b, st)
		}
	})
}

const procNetTCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0
   1: 0201D50A:C350 0101D50A:01BB 01 00000000:00000000 02:000A7F6A 00000000  1000        0 4243 2 0000000000000000 20 4 30 10 -1
`

const procNetTCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:0035 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 77 1 0000000000000000 100 0 0 10 0
   1: 0000000000000000FFFF00000100007F:1F90 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 78 1 0000000000000000 100 0 0 10 0
`

func TestParseProcNet(t *testing.T) {
	cases := []struct {
		name, proto, in string
		want            []Socket
		err             string
	}{
		{"tcp", "tcp", procNetTCP, []Socket{
			{Proto: "tcp", Local: "127.0.0.1:8080", Remote: "0.0.0.0:0", State: "LISTEN", UID: 0, Inode: 4242},
			{Proto: "tcp", Local: "10.213.1.2:50000", Remote: "10.213.1.1:443", State: "ESTABLISHED", UID: 1000, Inode: 4243},
		}, ""},
		{"tcp6", "tcp6", procNetTCP6, []Socket{
			{Proto: "tcp6", Local: "[::1]:53", Remote: "[::]:0", State: "LISTEN", Inode: 77},
			{Proto: "tcp6", Local: "[::ffff:127.0.0.1]:8080", Remote: "[::]:0", State: "CLOSE", Inode: 78},
		}, ""},
		{"header only", "udp", "  sl  local_address rem_address   st\n", nil, ""},
		{"short line", "tcp", "hdr\n 0: 0100007F:1F90\n", nil, "f:2: 2 fields"},
		{"bad address", "tcp", "hdr\n 0: 0100007:1F90 00000000:0000 0A 0:0 0:0 0 0 0 1\n", nil, "f:2: local address"},
		{"bad state", "tcp", "hdr\n 0: 0100007F:1F90 00000000:0000 ZZ 0:0 0:0 0 0 0 1\n", nil, "f:2: state"},
		{"bad inode", "tcp", "hdr\n 0: 0100007F:1F90 00000000:0000 0A 0:0 0:0 0 0 0 x\n", nil, "f:2: inode"},
	}
	for _, tc := range cases {
		got, err := ParseProcNet(strings.NewReader(tc.in), tc.proto, "f")
		if tc.err != "" {
			if !errors.Is(err, ErrParse) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || len(got) != len(tc.want) {
			t.Errorf("%s: %+v, %v", tc.name, got, err)
			continue
		}
		for i := range got {
			if got[i].Proto != tc.want[i].Proto || got[i].Local != tc.want[i].Local || got[i].Remote != tc.want[i].Remote ||
				got[i].State != tc.want[i].State || got[i].UID != tc.want[i].UID || got[i].Inode != tc.want[i].Inode {
				t.Errorf("%s[%d]: %+v, want %+v", tc.name, i, got[i], tc.want[i])
			}
		}
	}
}

func FuzzParseProcNet(f *testing.F) {
	f.Add([]byte(procNetTCP))
	f.Add([]byte(procNetTCP6))
	f.Fuzz(func(t *testing.T, b []byte) {
		socks, err := ParseProcNet(bytes.NewReader(b), "tcp", "fuzz")
		if err != nil {
			if !errors.Is(err, ErrParse) || !strings.Contains(err.Error(), "fuzz") {
				t.Fatalf("error without ErrParse or file: %v", err)
			}
			return
		}
		for _, s := range socks {
			if s.Local == "" || s.Remote == "" || s.State == "" {
				t.Fatalf("incomplete socket %+v", s)
			}
		}
	})
}

func TestRing(t *testing.T) {
	r := NewRing(3)
	if len(r.Items()) != 0 {
		t.Fatal("new ring not empty")
	}
	for i, want := range []string{"a", "ab", "abc", "bcd", "cde"} {
		r.Add([]byte{byte('a' + i)})
		var got []byte
		for _, it := range r.Items() {
			got = append(got, it...)
		}
		if string(got) != want {
			t.Errorf("after %d adds: %q, want %q", i+1, got, want)
		}
	}
}
