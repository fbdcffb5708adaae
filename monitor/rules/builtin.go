package rules

import (
	"embed"
)

//go:embed builtin/macros.yaml builtin/vigil_rules.yaml
var builtinFS embed.FS

// builtinFiles are loaded in this order.
var builtinFiles = []string{"macros.yaml", "vigil_rules.yaml"}

// BuiltinSources returns vigil's built-in rules files: the base library of
// Falco macros and lists (macros.yaml), then vigil's default detections
// (vigil_rules.yaml). Their names are "builtin:<file>".
func BuiltinSources() []Source {
	out := make([]Source, 0, len(builtinFiles))
	for _, f := range builtinFiles {
		data, err := builtinFS.ReadFile("builtin/" + f)
		if err != nil {
			panic("rules: embedded file missing: " + f) // impossible: embedded at build time
		}
		out = append(out, Source{Name: "builtin:" + f, Data: data})
	}
	return out
}

// BaseLibrarySource returns only the base library (macros.yaml), for
// loading user rules on top of Falco's macros without vigil's detections.
func BaseLibrarySource() Source { return BuiltinSources()[0] }

// LoadBuiltin loads the built-in files followed by extra, as Load does.
func LoadBuiltin(extra ...Source) (*Ruleset, []Warning, error) {
	return Load(append(BuiltinSources(), extra...)...)
}
