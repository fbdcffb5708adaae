package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/vigil-dev/vigil/install"
)

func init() {
	register("install", "add vigil's runtime to containerd's config, install binaries and a default policy", runInstall)
}

func runInstall(args []string, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("vigil install", flag.ContinueOnError)
	fset.SetOutput(stderr)
	config := fset.String("config", install.DefaultConfigPath, "containerd configuration file to edit (created when missing)")
	dryRun := fset.Bool("dry-run", false, "change nothing; print what would be done and the config diff")
	binDir := fset.String("bin-dir", "/usr/local/bin", "directory to install containerd-shim-vigil-v2 and vigil into (on containerd's PATH)")
	policyDir := fset.String("policy-dir", "/etc/vigil", "directory of the policy file; a default "+install.PolicyFile+" is written only when absent")
	srcDir := fset.String("source-dir", "", "directory holding the binaries to install (default: this executable's directory)")
	handler := fset.String("handler", install.DefaultHandler, "CRI runtime handler name (a RuntimeClass's handler)")
	fset.Usage = func() {
		fmt.Fprintln(stderr, "usage: vigil install [--config FILE] [--dry-run] [--bin-dir DIR] [--policy-dir DIR] [--source-dir DIR] [--handler NAME]")
		fset.PrintDefaults()
	}
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fset.NArg() > 0 {
		fmt.Fprintf(stderr, "vigil install: unexpected argument %q\n", fset.Arg(0))
		fset.Usage()
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "vigil install: %v\n", err)
		return 1
	}
	if *srcDir == "" {
		exe, err := os.Executable()
		if err != nil {
			return fail(fmt.Errorf("find this executable (use --source-dir): %w", err))
		}
		*srcDir = filepath.Dir(exe)
	}
	policyPath := filepath.Join(*policyDir, install.PolicyFile)

	src, err := os.ReadFile(*config)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fail(err)
	}
	edit, err := install.Configure(*config, src, install.Options{Handler: *handler, PolicyPath: policyPath})
	if err != nil {
		return fail(err)
	}
	for _, w := range edit.Warnings {
		fmt.Fprintf(stderr, "vigil install: warning: %s\n", w)
	}

	sameDir := samePath(*srcDir, *binDir)
	_, policyErr := os.Lstat(policyPath)
	if *dryRun {
		if !sameDir {
			for _, b := range install.Binaries {
				fmt.Fprintf(stdout, "would install %s to %s\n", filepath.Join(*srcDir, b), filepath.Join(*binDir, b))
			}
		}
		if errors.Is(policyErr, fs.ErrNotExist) {
			fmt.Fprintf(stdout, "would write the default policy to %s (mode 0600)\n", policyPath)
		}
		if edit.Changed {
			fmt.Fprint(stdout, edit.Diff())
		} else {
			fmt.Fprintln(stdout, edit.Summary)
		}
		return 0
	}

	if !sameDir {
		changed, err := install.InstallBinaries(*srcDir, *binDir)
		for _, c := range changed {
			fmt.Fprintf(stdout, "installed %s\n", c)
		}
		if err != nil {
			return fail(err)
		}
	}
	path, written, err := install.WriteDefaultPolicy(*policyDir)
	if err != nil {
		return fail(err)
	}
	if written {
		fmt.Fprintf(stdout, "wrote the default policy to %s\n", path)
	} else {
		fmt.Fprintf(stdout, "kept the existing policy %s\n", path)
	}
	if edit.Changed {
		if err := install.WriteFileAtomic(*config, edit.After, 0o644); err != nil {
			return fail(err)
		}
	}
	fmt.Fprintln(stdout, edit.Summary)
	if edit.Changed {
		fmt.Fprintln(stdout, "restart containerd to load the runtime: systemctl restart containerd")
	}
	return 0
}

// samePath reports whether a and b name the same directory.
func samePath(a, b string) bool {
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}
