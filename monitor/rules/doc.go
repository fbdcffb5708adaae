// Package rules is vigil's rule engine for rules written in Falco's rule
// format.
//
// Load reads Falco rules files (YAML lists of rule, macro, list,
// required_engine_version and required_plugin_versions items) in order,
// with Falco's semantics: later files append to (`append: true`,
// `override: {key: append}`), replace (`override: {key: replace}`) or
// redefine earlier items; macro and list names are resolved after every
// file is loaded; exceptions are appended to conditions as Falco does.
// Conditions are parsed once (package condition) and compiled into a tree
// that Match evaluates without allocating.
//
// A rule that uses a field vigil's sensors cannot produce still loads but
// has StatusUnsupported and never matches; rules of sources other than
// syscall load disabled (StatusSkipped). Syntax errors, undefined macros,
// unknown fields and values that do not fit their field are errors that
// name the file, line and item. Load returns the Ruleset even then, so
// `vigil rules check` can report every rule.
//
// Match evaluates every active rule on an event and returns all that
// match: no rule shadows another. FormatOutput and OutputFields render a
// rule's output as Falco does. Decide turns a match into an Action, and
// ProcNames and FilePaths extract the literal names and paths the kernel
// sensors can filter on.
//
// BuiltinSources holds the base library (Falco's common macros and lists
// adapted to vigil's fields) and vigil's default detections.
//
// The package is pure: no kernel, no I/O beyond the bytes it is given, no
// logging.
package rules
