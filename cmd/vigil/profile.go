package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/moby/sys/capability"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/vigil-dev/vigil/profiles/apparmor"
	"github.com/vigil-dev/vigil/profiles/seccomp"
)

func init() {
	register("profile show", "print a resolved seccomp profile (OCI JSON) or an AppArmor profile", runProfileShow)
}

// profileDefaultDir matches the policy file's default profiles.dir.
const profileDefaultDir = "/etc/vigil/profiles"

const profileShowUsage = `usage: vigil profile show NAME [--kind seccomp|apparmor] [--dir DIR] [--caps CAP,...] [--no-new-privileges=false]

Prints the profile NAME as the container would get it.
  seccomp:  the OCI linux.seccomp JSON after moby's archMap and includes/excludes
            are resolved for this host's architecture and the bounding
            capabilities; syscalls added because runc needs them are reported
            on stderr. Built-ins: %s.
  apparmor: the profile text; for %s, the text generated for this host.
Without --kind, built-in names pick their kind and other names are looked up
as DIR/seccomp/NAME[.json] and DIR/apparmor/NAME.

The container is containerd's default spec (its capabilities, no new
privileges) unless --caps or --no-new-privileges say otherwise.

flags:
`

func runProfileShow(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vigil profile show", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kind := fs.String("kind", "", "seccomp or apparmor (default: from NAME)")
	dir := fs.String("dir", profileDefaultDir, "profiles directory, holding seccomp/ and apparmor/")
	nnp := fs.Bool("no-new-privileges", true, "the container's process.noNewPrivileges (Kubernetes pods default to false)")
	var caps []string
	capsSet := false
	fs.Func("caps", "bounding capabilities, comma separated, e.g. CAP_SYS_ADMIN,net_raw (default: containerd's default set)", func(s string) error {
		capsSet = true
		var err error
		caps, err = profileParseCaps(s)
		return err
	})
	fs.Usage = func() {
		fmt.Fprintf(stderr, profileShowUsage, strings.Join(seccomp.Names(), ", "), apparmor.DefaultProfile)
		fs.PrintDefaults()
	}

	// Flags may come before or after NAME.
	var names []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		names = append(names, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(names) != 1 {
		fmt.Fprintf(stderr, "vigil profile show: want one profile NAME, got %d\n", len(names))
		fs.Usage()
		return 2
	}
	name := names[0]

	k, err := profileKind(name, *kind, *dir)
	if err != nil {
		fmt.Fprintf(stderr, "vigil profile show: %v\n", err)
		return 1
	}
	switch k {
	case "apparmor":
		src, err := apparmor.Find(name, *dir, nil)
		if err != nil {
			fmt.Fprintf(stderr, "vigil profile show: %v\n", err)
			return 1
		}
		if src.Name != name {
			fmt.Fprintf(stderr, "note: %s declares profile %q\n", src.From, src.Name)
		}
		fmt.Fprint(stdout, src.Text)
		return 0
	default:
		spec, err := profileSpec(*nnp, caps, capsSet)
		if err != nil {
			fmt.Fprintf(stderr, "vigil profile show: %v\n", err)
			return 1
		}
		r, err := seccomp.Resolve(name, *dir, spec)
		if err != nil {
			fmt.Fprintf(stderr, "vigil profile show: %v\n", err)
			return 1
		}
		for _, w := range r.Warnings {
			fmt.Fprintf(stderr, "warning: %s\n", w)
		}
		if len(r.Added) > 0 {
			fmt.Fprintf(stderr, "warning: %s: allowed %s because runc needs them after installing the filter\n", r.Source, strings.Join(r.Added, ", "))
		}
		if r.Seccomp == nil {
			fmt.Fprintf(stderr, "note: %s: no seccomp filter\n", r.Source)
		}
		out, err := json.MarshalIndent(r.Seccomp, "", "  ")
		if err != nil {
			fmt.Fprintf(stderr, "vigil profile show: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "%s\n", out)
		return 0
	}
}

// profileKind decides whether name is a seccomp or an AppArmor profile.
func profileKind(name, kind, dir string) (string, error) {
	switch kind {
	case "seccomp", "apparmor":
		return kind, nil
	case "":
	default:
		return "", fmt.Errorf("--kind %q: want seccomp or apparmor", kind)
	}
	if slices.Contains(seccomp.Names(), name) || filepath.IsAbs(name) {
		return "seccomp", nil
	}
	if name == apparmor.DefaultProfile {
		return "apparmor", nil
	}
	exists := func(p string) bool {
		fi, err := os.Stat(p)
		return err == nil && fi.Mode().IsRegular()
	}
	sc := exists(filepath.Join(dir, "seccomp", name)) || exists(filepath.Join(dir, "seccomp", name+".json"))
	aa := exists(filepath.Join(dir, "apparmor", name))
	switch {
	case sc && aa:
		return "", fmt.Errorf("%q is both a seccomp and an AppArmor profile in %s: pass --kind", name, dir)
	case aa:
		return "apparmor", nil
	case sc:
		return "seccomp", nil
	}
	return "", fmt.Errorf("no profile %q: not a built-in (%s, %s) and none of %s exists",
		name, strings.Join(seccomp.Names(), ", "), apparmor.DefaultProfile,
		strings.Join([]string{
			filepath.Join(dir, "seccomp", name), filepath.Join(dir, "seccomp", name+".json"), filepath.Join(dir, "apparmor", name),
		}, ", "))
}

// profileSpec is containerd's default spec for a container, with the
// bounding set replaced when caps were given.
func profileSpec(nnp bool, caps []string, capsSet bool) (*specs.Spec, error) {
	ctx := namespaces.WithNamespace(context.Background(), "vigil")
	spec, err := oci.GenerateSpec(ctx, nil, &containers.Container{ID: "vigil-profile-show"})
	if err != nil {
		return nil, fmt.Errorf("containerd default spec: %w", err)
	}
	spec.Process.NoNewPrivileges = nnp
	if capsSet {
		spec.Process.Capabilities.Bounding = caps
	}
	return spec, nil
}

// profileParseCaps accepts CAP_X or x names, comma separated.
func profileParseCaps(s string) ([]string, error) {
	known := map[string]bool{}
	for _, c := range capability.ListKnown() {
		known["CAP_"+strings.ToUpper(c.String())] = true
	}
	out := []string{}
	for _, f := range strings.Split(s, ",") {
		f = strings.ToUpper(strings.TrimSpace(f))
		if f == "" {
			continue
		}
		if !strings.HasPrefix(f, "CAP_") {
			f = "CAP_" + f
		}
		if !known[f] {
			return nil, fmt.Errorf("unknown capability %q", f)
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out, nil
}
