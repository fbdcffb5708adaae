package seccomp

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	mobyseccomp "github.com/moby/profiles/seccomp"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// specWith returns a spec whose process has the given bounding capabilities
// and noNewPrivileges setting.
func specWith(nnp bool, caps ...string) *specs.Spec {
	return &specs.Spec{Process: &specs.Process{
		NoNewPrivileges: nnp,
		Capabilities:    &specs.LinuxCapabilities{Bounding: caps},
	}}
}

// rulingFor returns the action of the unconditional rule naming name, or "".
func rulingFor(p *specs.LinuxSeccomp, name string) specs.LinuxSeccompAction {
	for _, sc := range p.Syscalls {
		if len(sc.Args) == 0 && slices.Contains(sc.Names, name) {
			return sc.Action
		}
	}
	return ""
}

// hostArches is what moby's archMap of the default profile yields for this
// host, read from moby's own data rather than restated here.
func hostArches(t *testing.T) []specs.Arch {
	t.Helper()
	native := map[string]specs.Arch{"amd64": specs.ArchX86_64, "arm64": specs.ArchAARCH64}[runtime.GOARCH]
	for _, a := range mobyseccomp.DefaultProfile().ArchMap {
		if a.Arch == native {
			return append([]specs.Arch{a.Arch}, a.SubArches...)
		}
	}
	t.Skipf("requires amd64 or arm64: moby's archMap lookup for %s is not covered by this test", runtime.GOARCH)
	return nil
}

func TestResolveBuiltins(t *testing.T) {
	hardenedRef := readJSON(t, filepath.Join("builtin", "hardened.json"))
	for _, tc := range []struct {
		name       string
		spec       *specs.Spec
		wantNil    bool
		wantFormat Format
		wantSource string
		wantAdded  []string
	}{
		{name: "", spec: specWith(false), wantFormat: FormatMoby, wantSource: RuntimeDefault},
		{name: RuntimeDefault, spec: specWith(false), wantFormat: FormatMoby, wantSource: RuntimeDefault},
		{name: RuntimeDefault, spec: nil, wantFormat: FormatMoby, wantSource: RuntimeDefault},
		// The reference profile is written in the subset both formats share.
		{name: Hardened, spec: specWith(true), wantFormat: FormatOCI, wantSource: Hardened, wantAdded: []string{"statx", "readlinkat"}},
		{name: Hardened, spec: specWith(false), wantFormat: FormatOCI, wantSource: Hardened, wantAdded: []string{"statx", "readlinkat", "setgroups"}},
		{name: Unconfined, spec: specWith(false), wantNil: true, wantSource: Unconfined},
	} {
		t.Run(tc.name+"/"+tc.wantSource, func(t *testing.T) {
			r, err := Resolve(tc.name, "", tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if r.Source != tc.wantSource || r.Format != tc.wantFormat {
				t.Errorf("source, format = %q, %q; want %q, %q", r.Source, r.Format, tc.wantSource, tc.wantFormat)
			}
			if tc.wantNil {
				if r.Seccomp != nil {
					t.Errorf("unconfined resolved to a filter: %+v", r.Seccomp)
				}
				return
			}
			if r.Seccomp == nil || r.Seccomp.DefaultAction != specs.ActErrno {
				t.Fatalf("filter = %+v, want default action %s", r.Seccomp, specs.ActErrno)
			}
			if !slices.Equal(r.Added, tc.wantAdded) {
				t.Errorf("added = %v, want %v", r.Added, tc.wantAdded)
			}
			for _, n := range r.Added {
				if rulingFor(r.Seccomp, n) != specs.ActAllow {
					t.Errorf("%s reported as added but not allowed", n)
				}
			}
			if tc.wantSource == Hardened {
				// Every rule of the reference document is kept verbatim
				// ahead of the single added rule.
				n := len(r.Seccomp.Syscalls) - 1
				got, _ := json.Marshal(r.Seccomp.Syscalls[:n])
				want, _ := json.Marshal(hardenedRef.Syscalls)
				if string(got) != string(want) {
					t.Errorf("reference rules changed:\n got %s\nwant %s", got, want)
				}
				if !slices.Equal(r.Seccomp.Architectures, hardenedRef.Architectures) {
					t.Errorf("architectures = %v, want %v", r.Seccomp.Architectures, hardenedRef.Architectures)
				}
			}
			if tc.wantSource == RuntimeDefault && !slices.Equal(r.Seccomp.Architectures, hostArches(t)) {
				t.Errorf("architectures = %v, want the host's archMap entry %v", r.Seccomp.Architectures, hostArches(t))
			}
		})
	}
}

func readJSON(t *testing.T, path string) specs.LinuxSeccomp {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var p specs.LinuxSeccomp
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHardenedIsTheReferenceProfile(t *testing.T) {
	ref := filepath.Join("..", "..", "..", "shared", "seed", "container-runtime-security-reference.md")
	doc, err := os.ReadFile(ref)
	if err != nil {
		t.Skipf("requires the reference document at %s: %v", ref, err)
	}
	_, after, ok := strings.Cut(string(doc), "### Pattern 2")
	_, after, ok2 := strings.Cut(after, "```json\n")
	block, _, ok3 := strings.Cut(after, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatalf("%s: no JSON block under Pattern 2", ref)
	}
	if string(hardenedJSON) != block {
		t.Errorf("builtin/hardened.json differs from the reference document's Pattern 2 profile")
	}
}

func TestReferenceProfileSyscallsExistOnAMD64(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skipf("requires amd64: the check asks libseccomp for x86_64 syscall numbers, host is %s", runtime.GOARCH)
	}
	r, err := Load(hardenedJSON, Hardened, specWith(true))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Warnings) != 0 {
		t.Errorf("warnings: %v", r.Warnings)
	}
	var names int
	for _, sc := range r.Seccomp.Syscalls {
		names += len(sc.Names)
	}
	if names < 70 {
		t.Errorf("only %d syscall names resolved", names)
	}
}

func TestIncludesExcludesByCapability(t *testing.T) {
	for _, tc := range []struct {
		profile, dir string
		caps         []string
		syscall      string
		want         specs.LinuxSeccompAction // "" = no unconditional rule
	}{
		// moby's default profile: CAP_SYS_ADMIN brings mount and friends.
		{RuntimeDefault, "", nil, "mount", ""},
		{RuntimeDefault, "", []string{"CAP_SYS_ADMIN"}, "mount", specs.ActAllow},
		{RuntimeDefault, "", []string{"CAP_SYS_ADMIN"}, "umount2", specs.ActAllow},
		{RuntimeDefault, "", nil, "syslog", ""},
		{RuntimeDefault, "", []string{"CAP_SYSLOG"}, "syslog", specs.ActAllow},
		{RuntimeDefault, "", nil, "read", specs.ActAllow},
		// A moby-format file: includes and excludes by capability and arch.
		{"moby-caps", "files", nil, "mount", ""},
		{"moby-caps", "files", []string{"CAP_SYS_ADMIN"}, "mount", specs.ActAllow},
		{"moby-caps", "files", nil, "unshare", specs.ActErrno},
		{"moby-caps", "files", []string{"CAP_SYS_ADMIN"}, "unshare", ""},
	} {
		t.Run(tc.profile+"/"+strings.Join(tc.caps, ",")+"/"+tc.syscall, func(t *testing.T) {
			dir := ""
			if tc.dir != "" {
				dir = profilesDir(t, map[string]string{"moby-caps.json": mustRead(t, "testdata/moby-caps.json")})
			}
			r, err := Resolve(tc.profile, dir, specWith(true, tc.caps...))
			if err != nil {
				t.Fatal(err)
			}
			if got := rulingFor(r.Seccomp, tc.syscall); got != tc.want {
				t.Errorf("%s with caps %v: rule %q, want %q", tc.syscall, tc.caps, got, tc.want)
			}
		})
	}
}

func TestMobyFileArchFilters(t *testing.T) {
	dir := profilesDir(t, map[string]string{"moby-caps.json": mustRead(t, "testdata/moby-caps.json")})
	r, err := Resolve("moby-caps", dir, specWith(true))
	if err != nil {
		t.Fatal(err)
	}
	if r.Format != FormatMoby {
		t.Errorf("format = %q, want moby", r.Format)
	}
	switch runtime.GOARCH {
	case "amd64":
		if !slices.Equal(r.Seccomp.Architectures, []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}) {
			t.Errorf("architectures = %v", r.Seccomp.Architectures)
		}
		if rulingFor(r.Seccomp, "arch_prctl") != specs.ActAllow || rulingFor(r.Seccomp, "arm_fadvise64_64") != "" {
			t.Errorf("arch includes not applied for amd64: %+v", r.Seccomp.Syscalls)
		}
	case "arm64":
		if rulingFor(r.Seccomp, "arch_prctl") != "" || rulingFor(r.Seccomp, "arm_fadvise64_64") != specs.ActAllow {
			t.Errorf("arch includes not applied for arm64: %+v", r.Seccomp.Syscalls)
		}
	default:
		t.Skipf("requires amd64 or arm64: the fixture's arch filters name those, host is %s", runtime.GOARCH)
	}
}

func TestOCIFormatFile(t *testing.T) {
	dir := profilesDir(t, map[string]string{"oci-profile.json": mustRead(t, "testdata/oci-profile.json")})
	r, err := Resolve("oci-profile", dir, specWith(false))
	if err != nil {
		t.Fatal(err)
	}
	if r.Format != FormatOCI {
		t.Errorf("format = %q, want oci", r.Format)
	}
	want := readJSON(t, "testdata/oci-profile.json")
	got, _ := json.Marshal(r.Seccomp)
	wantJSON, _ := json.Marshal(&want)
	if string(got) != string(wantJSON) {
		t.Errorf("OCI profile not passed through:\n got %s\nwant %s", got, wantJSON)
	}
	if len(r.Added) != 0 {
		t.Errorf("added %v to a profile that allows every runtime need", r.Added)
	}
	if r.Source != filepath.Join(dir, "seccomp", "oci-profile.json") {
		t.Errorf("source = %q", r.Source)
	}
}

func TestFindFile(t *testing.T) {
	body := mustRead(t, "testdata/oci-profile.json")
	dir := profilesDir(t, map[string]string{"plain": body, "web.json": body, "sub/deep.json": body})
	abs := filepath.Join(dir, "seccomp", "web.json")
	for _, tc := range []struct {
		name, dir, want string
		err             error
	}{
		{"plain", dir, filepath.Join(dir, "seccomp", "plain"), nil},
		{"web", dir, abs, nil},
		{"web.json", dir, abs, nil},
		{"sub/deep", dir, filepath.Join(dir, "seccomp", "sub", "deep.json"), nil},
		{abs, "", abs, nil},
		{"missing", dir, "", ErrNotFound},
		{"../escape", dir, "", ErrNotFound},
		{"web", "", "", ErrNotFound},
		{filepath.Join(dir, "nope.json"), "", "", ErrNotFound},
		{filepath.Join(dir, "seccomp"), "", "", ErrNotFound}, // a directory
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Resolve(tc.name, tc.dir, nil)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				if !strings.Contains(err.Error(), filepath.Base(tc.name)) {
					t.Errorf("error %q does not name %q", err, tc.name)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Source != tc.want {
				t.Errorf("source = %q, want %q", r.Source, tc.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		kind error  // sentinel beyond ErrInvalidProfile, or nil
		want string // substring: file:line: field: message
	}{
		{"unknown syscall", `{
  "defaultAction": "SCMP_ACT_ERRNO",
  "syscalls": [
    {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["write",
               "reed"], "action": "SCMP_ACT_ALLOW"}
  ]
}`, ErrUnknownSyscall, `p.json:6: syscalls[1].names[1]: unknown syscall "reed"`},
		{"unknown syscall via name", `{"defaultAction": "SCMP_ACT_ERRNO",
"syscalls": [{"name": "nosuchcall", "action": "SCMP_ACT_ALLOW"}]}`, ErrUnknownSyscall, `p.json:2: syscalls[0].name: unknown syscall "nosuchcall"`},
		{"bad action", `{
  "defaultAction": "SCMP_ACT_ERRNO",
  "syscalls": [
    {"names": ["read"],
     "action": "SCMP_ACT_ALOW"}
  ]
}`, nil, `p.json:5: syscalls[0].action: unknown action "SCMP_ACT_ALOW"`},
		{"bad default action", "{\n\"defaultAction\": \"DENY\"}", nil, `p.json:2: defaultAction: unknown action "DENY"`},
		{"bad op", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
 {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
  "args": [{"index": 0, "value": 1,
            "op": "SCMP_CMP_MASKED"}]}]}`, nil, `p.json:4: syscalls[0].args[0].op: unknown operator "SCMP_CMP_MASKED"`},
		{"arg index", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
 {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 6, "op": "SCMP_CMP_EQ"}]}]}`, nil, `p.json:2: syscalls[0].args[0].index: 6 is out of range`},
		{"negative value", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
 {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": -1, "op": "SCMP_CMP_EQ"}]}]}`, nil, `p.json:2: syscalls[0].args[0].value: -1 is not an unsigned 64-bit integer`},
		{"bad json", `{
  "defaultAction": "SCMP_ACT_ERRNO",
  "syscalls": [
    {"names": ["read"] "action": "SCMP_ACT_ALLOW"}
  ]
}`, nil, `p.json:4: invalid JSON`},
		{"truncated json", "{\n\"defaultAction\": \"SCMP_ACT_ERRNO\",\n", nil, `p.json:2: invalid JSON: unexpected end of input`},
		{"trailing data", "{\"defaultAction\": \"SCMP_ACT_ERRNO\"}\n{}", nil, `p.json:2: unexpected data after the top-level value`},
		{"misspelt key", "{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"sycalls\": []\n}", nil, `p.json:3: sycalls: unknown key "sycalls"`},
		{"missing default action", "{\n  \"syscalls\": []\n}", nil, `p.json:1: defaultAction: missing`},
		{"duplicate key", "{\"defaultAction\": \"SCMP_ACT_ALLOW\",\n\"defaultAction\": \"SCMP_ACT_ERRNO\"}", nil, `p.json:2: duplicate key "defaultAction"`},
		{"not an object", "[1]", nil, `p.json:1: the profile must be a JSON object, not array`},
		{"names wrong type", `{"defaultAction": "SCMP_ACT_ERRNO",
"syscalls": [{"names": "read", "action": "SCMP_ACT_ALLOW"}]}`, nil, `p.json:2: syscalls[0].names: must be an array of strings, not string`},
		{"empty names", `{"defaultAction": "SCMP_ACT_ERRNO",
"syscalls": [{"names": [], "action": "SCMP_ACT_ALLOW"}]}`, nil, `p.json:2: syscalls[0].names: empty`},
		{"missing action", `{"defaultAction": "SCMP_ACT_ERRNO",
"syscalls": [{"names": ["read"]}]}`, nil, `p.json:2: syscalls[0].action: missing`},
		{"errnoRet on allow", `{"defaultAction": "SCMP_ACT_ERRNO",
"syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "errnoRet": 1}]}`, nil, `p.json:2: syscalls[0].errnoRet: only applies to SCMP_ACT_ERRNO`},
		{"bad arch", "{\"defaultAction\": \"SCMP_ACT_ERRNO\",\n\"architectures\": [\"SCMP_ARCH_X86_65\"]}", nil, `p.json:2: architectures[0]: unknown architecture "SCMP_ARCH_X86_65"`},
		{"both arch forms", `{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
"archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": null}]}`, nil, `p.json:2: archMap: use either architectures or archMap`},
		{"bad flag", "{\"defaultAction\": \"SCMP_ACT_ERRNO\",\n\"flags\": [\"SECCOMP_FILTER_FLAG_NOPE\"]}", nil, `p.json:2: flags[0]: unknown flag`},
		{"bad capability", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_ALLOW",
  "includes": {"caps": ["CAP_SYS_ADMINN"]}}]}`, nil, `p.json:2: syscalls[0].includes.caps[0]: unknown capability "CAP_SYS_ADMINN"`},
		{"bad filter arch", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_ALLOW",
  "excludes": {"arches": ["x86_64"]}}]}`, nil, `p.json:2: syscalls[0].excludes.arches[0]: unknown architecture "x86_64"`},
		{"bad min kernel", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_ALLOW",
  "includes": {"minKernel": "5"}}]}`, nil, `p.json:2: syscalls[0].includes.minKernel: "5" is not a kernel version`},
		{"notify without listener", `{"defaultAction": "SCMP_ACT_ERRNO",
"syscalls": [{"names": ["mount"], "action": "SCMP_ACT_NOTIFY"}]}`, nil, `p.json:1: listenerPath: required`},
		{"notify default", `{"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/run/x.sock"}`, nil, `p.json:1: defaultAction: SCMP_ACT_NOTIFY cannot be the default action`},
		{"notify write", `{"defaultAction": "SCMP_ACT_ERRNO", "listenerPath": "/run/x.sock",
"syscalls": [{"names": ["write"], "action": "SCMP_ACT_NOTIFY"}]}`, nil, `p.json:2: syscalls[0].names[0]: SCMP_ACT_NOTIFY cannot be used for write`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Load([]byte(tc.body), "p.json", specWith(true))
			if err == nil {
				t.Fatalf("no error; resolved %+v", r.Seccomp)
			}
			if !errors.Is(err, ErrInvalidProfile) {
				t.Errorf("%v does not match ErrInvalidProfile", err)
			}
			if tc.kind != nil && !errors.Is(err, tc.kind) {
				t.Errorf("%v does not match %v", err, tc.kind)
			}
			if !strings.Contains(err.Error(), "seccomp profile "+tc.want) {
				t.Errorf("error\n  %v\ndoes not contain\n  seccomp profile %s", err, tc.want)
			}
		})
	}
}

// The error of a file profile names the file's path.
func TestResolveErrorNamesFile(t *testing.T) {
	dir := profilesDir(t, map[string]string{"typo.json": "{\n\"defaultAction\": \"SCMP_ACT_ERRNO\",\n\"syscalls\": [{\"names\": [\"opnat\"], \"action\": \"SCMP_ACT_ALLOW\"}]}"})
	_, err := Resolve("typo", dir, nil)
	want := filepath.Join(dir, "seccomp", "typo.json") + `:3: syscalls[0].names[0]: unknown syscall "opnat"`
	if !errors.Is(err, ErrUnknownSyscall) || !strings.Contains(fmtErr(err), want) {
		t.Errorf("err = %v, want it to contain %q", err, want)
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// Moby's default profile lists syscalls newer than the installed
// libseccomp; the built-in reports them as a warning rather than failing,
// while the same body loaded from a file is held to the strict rule.
func TestRuntimeDefaultUnknownSyscallsAreWarnings(t *testing.T) {
	body, err := json.Marshal(mobyseccomp.DefaultProfile())
	if err != nil {
		t.Fatal(err)
	}
	strict, strictErr := Load(body, "default.json", nil)
	// The validated path (Resolve takes a fast path tested equal to it).
	r, err := resolveDefaultChecked(nil)
	if err != nil {
		t.Fatal(err)
	}
	if strictErr == nil {
		if len(r.Warnings) != 0 || strict == nil {
			t.Errorf("libseccomp knows every syscall but warnings = %v", r.Warnings)
		}
		return
	}
	if !errors.Is(strictErr, ErrUnknownSyscall) {
		t.Fatalf("strict load: %v", strictErr)
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "ignored by runc") {
		t.Errorf("warnings = %v, want one naming the syscalls runc ignores", r.Warnings)
	}
}

func TestEnsureRuntimeNeeds(t *testing.T) {
	allowAll := func(names ...string) specs.LinuxSyscall {
		return specs.LinuxSyscall{Names: names, Action: specs.ActAllow}
	}
	for _, tc := range []struct {
		name      string
		p         *specs.LinuxSeccomp
		nnp       bool
		wantAdded []string
		wantErr   error
	}{
		{"nil profile", nil, false, nil, nil},
		{"deny default, nothing allowed, nnp", &specs.LinuxSeccomp{DefaultAction: specs.ActErrno}, true, []string{"statx", "readlinkat"}, nil},
		{"deny default, nothing allowed", &specs.LinuxSeccomp{DefaultAction: specs.ActErrno}, false, []string{"statx", "readlinkat", "setgroups"}, nil},
		{"kill default", &specs.LinuxSeccomp{DefaultAction: specs.ActKillProcess}, true, []string{"statx", "readlinkat"}, nil},
		{"statx already allowed", &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{allowAll("read", "statx")}}, true, []string{"readlinkat"}, nil},
		{"log counts as allowed", &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"statx", "readlinkat"}, Action: specs.ActLog}}}, true, nil, nil},
		{"all allowed", &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{allowAll("statx", "readlinkat", "setgroups")}}, false, nil, nil},
		{"conditional allow is not enough", &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"statx"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 1, Op: specs.OpEqualTo}}},
			allowAll("readlinkat"),
		}}, true, []string{"statx"}, nil},
		{"allow by default", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"mount"}, Action: specs.ActErrno}}}, false, nil, nil},
		{"log by default", &specs.LinuxSeccomp{DefaultAction: specs.ActLog}, false, nil, nil},
		{"explicit deny", &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"readlinkat"}, Action: specs.ActKillProcess}}}, true, nil, ErrRuntimeNeedDenied},
		{"explicit deny in allow-by-default", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"statx"}, Action: specs.ActErrno}}}, true, nil, ErrRuntimeNeedDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before int
			if tc.p != nil {
				before = len(tc.p.Syscalls)
			}
			added, err := EnsureRuntimeNeeds(tc.p, specWith(tc.nnp))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(added, tc.wantAdded) {
				t.Errorf("added = %v, want %v", added, tc.wantAdded)
			}
			if tc.p == nil {
				return
			}
			wantRules := before
			if len(tc.wantAdded) > 0 {
				wantRules++
				last := tc.p.Syscalls[len(tc.p.Syscalls)-1]
				if last.Action != specs.ActAllow || len(last.Args) != 0 || !slices.Equal(last.Names, tc.wantAdded) {
					t.Errorf("added rule = %+v", last)
				}
			}
			if len(tc.p.Syscalls) != wantRules {
				t.Errorf("%d rules after, want %d", len(tc.p.Syscalls), wantRules)
			}
		})
	}
}

func TestRuntimeNeedsNilSpec(t *testing.T) {
	if got, want := RuntimeNeeds(nil), RuntimeNeeds(specWith(false)); !slices.Equal(got, want) {
		t.Errorf("nil spec needs %v, want the no-new-privileges=false set %v", got, want)
	}
	if got := RuntimeNeeds(specWith(true)); slices.Contains(got, "setgroups") {
		t.Errorf("with noNewPrivileges runc does not call setgroups under the filter, got %v", got)
	}
}

func TestNames(t *testing.T) {
	for _, n := range Names() {
		if _, err := Resolve(n, "", nil); err != nil {
			t.Errorf("built-in %q: %v", n, err)
		}
	}
}

// profilesDir writes files under <dir>/seccomp and returns dir.
func profilesDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, "seccomp", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
