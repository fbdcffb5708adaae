//go:build linux

package fanotify

import (
	"encoding/binary"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// record builds one fanotify_event_metadata record.
func record(eventLen uint32, vers uint8, metaLen uint16, mask uint64, fd, pid int32) []byte {
	b := make([]byte, 24)
	binary.NativeEndian.PutUint32(b[0:], eventLen)
	b[4] = vers
	binary.NativeEndian.PutUint16(b[6:], metaLen)
	binary.NativeEndian.PutUint64(b[8:], mask)
	binary.NativeEndian.PutUint32(b[16:], uint32(fd))
	binary.NativeEndian.PutUint32(b[20:], uint32(pid))
	return b
}

func TestParseEvents(t *testing.T) {
	const v = unix.FANOTIFY_METADATA_VERSION
	two := append(record(24, v, 24, unix.FAN_OPEN_PERM, 7, 100), record(24, v, 24, unix.FAN_CLOSE_WRITE, 8, 101)...)
	// A record with 8 bytes of info after its metadata.
	withInfo := append(record(32, v, 24, unix.FAN_OPEN_PERM, 9, 102), make([]byte, 8)...)
	withInfo = append(withInfo, record(24, v, 24, unix.FAN_Q_OVERFLOW, -1, 0)...)
	tests := []struct {
		name    string
		in      []byte
		want    []rawEvent
		wantErr string
	}{
		{"two", two, []rawEvent{{unix.FAN_OPEN_PERM, 7, 100}, {unix.FAN_CLOSE_WRITE, 8, 101}}, ""},
		{"info record skipped", withInfo, []rawEvent{{unix.FAN_OPEN_PERM, 9, 102}, {unix.FAN_Q_OVERFLOW, -1, 0}}, ""},
		{"empty", nil, nil, ""},
		{"trailing bytes", append(record(24, v, 24, 1, 3, 4), 1, 2), []rawEvent{{1, 3, 4}}, "trailing"},
		{"wrong version", record(24, 2, 24, 1, 3, 4), nil, "version"},
		{"event longer than buffer", record(48, v, 24, 1, 3, 4), nil, "lengths"},
		{"metadata too short", record(24, v, 16, 1, 3, 4), nil, "lengths"},
		{"zero length", record(0, v, 24, 1, 3, 4), nil, "lengths"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseEvents(tt.in)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("event %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func FuzzParseEvents(f *testing.F) {
	f.Add(record(24, unix.FANOTIFY_METADATA_VERSION, 24, unix.FAN_OPEN_PERM, 7, 100))
	f.Add(append(record(32, unix.FANOTIFY_METADATA_VERSION, 24, 1, 9, 1), make([]byte, 8)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		events, err := parseEvents(b)
		// Every event consumed at least a metadata record.
		if len(events)*metadataLen > len(b) {
			t.Fatalf("%d events from %d bytes", len(events), len(b))
		}
		if err == nil && len(b) > 0 && len(events) == 0 {
			t.Fatalf("no events and no error from %d bytes", len(b))
		}
	})
}
