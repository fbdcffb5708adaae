package fanotify

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestRaiseGroupLimit(t *testing.T) {
	for _, c := range []struct {
		name      string
		cur, want int
		after     int
		err       bool
	}{
		{"double", 128, 0, 256, false},
		{"to at least want", 128, 1000, 1000, false},
		{"never down", 4096, 1000, 4096, false},
		{"capped", MaxGroupLimit - 1, 0, MaxGroupLimit, false},
		{"at the cap", MaxGroupLimit, 0, MaxGroupLimit, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "max_user_groups")
			if err := os.WriteFile(f, []byte(strconv.Itoa(c.cur)+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := RaiseGroupLimit(f, c.want)
			if (err != nil) != c.err {
				t.Fatalf("err = %v, want error %v", err, c.err)
			}
			b, _ := os.ReadFile(f)
			if got != c.after || strings.TrimSpace(string(b)) != strconv.Itoa(c.after) {
				t.Errorf("limit %d, file %q; want %d", got, b, c.after)
			}
		})
	}
	if _, err := RaiseGroupLimit(filepath.Join(t.TempDir(), "missing"), 0); err == nil {
		t.Error("a missing file is not an error")
	}
}

// A node at its limit of fanotify groups (two per shim: the 65th shim
// under the kernel's default of 128) still gets a sensor: New raises the
// limit. The test lowers the node's limit to 1 and restores it.
func TestNewRaisesGroupLimit(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("requires root: fanotify groups and the sysctl need it")
	}
	orig, err := os.ReadFile(GroupLimitFile)
	if err != nil {
		t.Skipf("requires %s: %v", GroupLimitFile, err)
	}
	t.Cleanup(func() {
		// Put back what was there, or more if other processes raised it.
		n, _ := strconv.Atoi(strings.TrimSpace(string(orig)))
		if _, err := RaiseGroupLimit(GroupLimitFile, n); err != nil {
			t.Errorf("restore %s: %v", GroupLimitFile, err)
		}
		if b, _ := os.ReadFile(GroupLimitFile); string(b) != string(orig) {
			os.WriteFile(GroupLimitFile, orig, 0o644)
		}
	})
	if err := os.WriteFile(GroupLimitFile, []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	newSensor(t) // two groups: at least one over the limit of 1
	if n := GroupLimitRaised(); n < 2 {
		t.Fatalf("GroupLimitRaised() = %d, want the raised limit (≥ 2)", n)
	}
	b, _ := os.ReadFile(GroupLimitFile)
	if got, _ := strconv.Atoi(strings.TrimSpace(string(b))); got != GroupLimitRaised() {
		t.Errorf("%s holds %s, GroupLimitRaised says %d", GroupLimitFile, b, GroupLimitRaised())
	}
}
