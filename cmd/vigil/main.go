// Command vigil is the operator's CLI over vigil's packages: it checks and
// explains policies, shows resolved profiles, validates rule files, runs the
// self test and installs vigil into a containerd configuration.
//
// Each subcommand lives in its own file and registers itself with register.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// command is one CLI verb such as "policy check".
type command struct {
	path    string // space separated words, e.g. "policy check"
	summary string
	// run executes the command with the arguments that follow its path and
	// returns the process exit code.
	run func(args []string, stdout, stderr io.Writer) int
}

var commands = map[string]*command{}

// register adds a command; it is called from init functions.
func register(path, summary string, run func(args []string, stdout, stderr io.Writer) int) {
	if _, dup := commands[path]; dup {
		panic("vigil: command registered twice: " + path)
	}
	commands[path] = &command{path: path, summary: summary, run: run}
}

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

// dispatch finds the longest registered command path that prefixes args.
func dispatch(args []string, stdout, stderr io.Writer) int {
	for n := len(args); n > 0; n-- {
		if c, ok := commands[strings.Join(args[:n], " ")]; ok {
			return c.run(args[n:], stdout, stderr)
		}
	}
	if len(args) > 0 && args[0] != "help" && args[0] != "-h" && args[0] != "--help" {
		fmt.Fprintf(stderr, "vigil: unknown command %q\n\n", strings.Join(args, " "))
		usage(stderr)
		return 2
	}
	usage(stdout)
	return 0
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: vigil <command> [flags]\n\ncommands:")
	paths := make([]string, 0, len(commands))
	for p := range commands {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		fmt.Fprintf(w, "  %-18s %s\n", p, commands[p].summary)
	}
}
