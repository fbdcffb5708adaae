package alerts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// Action says what vigil did, or was told to do, about an event.
type Action string

// Actions vigil takes. Other values may appear as policies grow.
const (
	ActionAlert   Action = "alert"   // reported only
	ActionKill    Action = "kill"    // the offending process or task was killed
	ActionDeny    Action = "deny"    // the operation was refused
	ActionIsolate Action = "isolate" // the container was cut off the network
	// ActionForensics: a forensics bundle of the container was captured.
	ActionForensics Action = "forensics"
)

// Source is the Falco event source of every alert vigil raises.
const Source = "syscall"

// TimeFormat is the layout of Alert.Time on the wire: RFC 3339 in UTC with
// exactly nine fractional digits, as Falco writes it.
const TimeFormat = "2006-01-02T15:04:05.000000000Z"

// outputTimeFormat is the layout of the time prefix of Alert.Output.
const outputTimeFormat = "15:04:05.000000000"

// ErrInvalidAlert is returned by [Alert.Validate] for an alert a Falco
// consumer would reject.
var ErrInvalidAlert = errors.New("invalid alert")

// Alert is one Falco alert. Its JSON form is exactly Falco's json_output
// (see [Alert.MarshalJSON]) plus the "vigil" object.
type Alert struct {
	// Hostname is the node the alert was raised on.
	Hostname string
	// Output is the rendered rule output prefixed with the event time and
	// priority, as Falco prints it: "19:09:10.123456789: Warning Shell ...".
	Output string
	// OutputFields maps the fields the output references (container.id,
	// proc.name, fd.name ...) to their values. Falco always sends at least
	// one; falcosidekick rejects an alert without any.
	OutputFields map[string]any
	// Priority is the rule's priority.
	Priority Priority
	// Rule is the name of the rule that matched.
	Rule string
	// Source is the Falco event source, [Source] for vigil.
	Source string
	// Tags are the rule's tags.
	Tags []string
	// Time is when the event happened.
	Time time.Time
	// Vigil records vigil's response; nil omits the object.
	Vigil *Vigil
}

// Vigil is the "vigil" object of an alert: what vigil did about the event.
type Vigil struct {
	// Action is what the policy asked for.
	Action Action `json:"action"`
	// KernelAction is what a kernel hook already did before user space saw
	// the event ("killed", "denied"), empty if nothing.
	KernelAction string `json:"kernelAction,omitempty"`
	// ActionError says why Action failed, empty if it succeeded.
	ActionError string `json:"actionError,omitempty"`
	// Policy names the policy that was applied to the container.
	Policy string `json:"policy,omitempty"`
	// ContainerID is the full container id.
	ContainerID string `json:"containerID,omitempty"`
	// Namespace is the containerd namespace of the container.
	Namespace string `json:"namespace,omitempty"`
	// Sensor names the sensor that saw the event ("exec", "fanotify" ...).
	Sensor string `json:"sensor,omitempty"`
	// Response lists the response actions carried out, in the order they
	// ran ("forensics", "isolate", "kill"); empty when the alert is all.
	Response []Action `json:"response,omitempty"`
	// Forensics is the directory of the forensics bundle captured for the
	// event, empty if none.
	Forensics string `json:"forensics,omitempty"`
}

// wireAlert is the JSON layout. Field order is Falco's (its JSON library
// sorts keys), so vigil's lines and Falco's are byte-comparable.
type wireAlert struct {
	Hostname     string         `json:"hostname"`
	Output       string         `json:"output"`
	OutputFields map[string]any `json:"output_fields"`
	Priority     Priority       `json:"priority"`
	Rule         string         `json:"rule"`
	Source       string         `json:"source"`
	Tags         []string       `json:"tags"`
	Time         string         `json:"time"`
	Vigil        *Vigil         `json:"vigil,omitempty"`
}

// MarshalJSON encodes a with Falco's layout: keys hostname, output, output_fields,
// priority, rule, source, tags, time (then vigil); time in [TimeFormat];
// tags and output_fields never null. It fails for an invalid priority.
func (a Alert) MarshalJSON() ([]byte, error) {
	w := wireAlert{
		Hostname:     a.Hostname,
		Output:       a.Output,
		OutputFields: a.OutputFields,
		Priority:     a.Priority,
		Rule:         a.Rule,
		Source:       a.Source,
		Tags:         a.Tags,
		Time:         a.Time.UTC().Format(TimeFormat),
		Vigil:        a.Vigil,
	}
	if w.OutputFields == nil {
		w.OutputFields = map[string]any{}
	}
	if w.Tags == nil {
		w.Tags = []string{}
	}
	// Leave <, > and & alone here; json.Marshal escapes them afterwards,
	// Marshal does not.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(w); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Marshal encodes a exactly as Falco writes it. It differs from
// json.Marshal(a) only in leaving <, > and & unescaped, as Falco does;
// both decode to the same alert. Outputs use Marshal.
func Marshal(a Alert) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(a); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// UnmarshalJSON decodes a Falco (or vigil) alert. Numbers in output_fields
// are kept as json.Number so they survive a round trip unchanged.
func (a *Alert) UnmarshalJSON(b []byte) error {
	var w wireAlert
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&w); err != nil {
		return err
	}
	var t time.Time
	if w.Time != "" {
		var err error
		if t, err = time.Parse(time.RFC3339Nano, w.Time); err != nil {
			return fmt.Errorf("time: %w", err)
		}
	}
	*a = Alert{
		Hostname:     w.Hostname,
		Output:       w.Output,
		OutputFields: w.OutputFields,
		Priority:     w.Priority,
		Rule:         w.Rule,
		Source:       w.Source,
		Tags:         w.Tags,
		Time:         t,
		Vigil:        w.Vigil,
	}
	return nil
}

// Validate reports the first reason a Falco consumer would reject a: the
// checks falcosidekick applies to its input (known priority, non-empty rule,
// non-zero time, non-empty output_fields) plus a non-empty output.
func (a Alert) Validate() error {
	switch {
	case !a.Priority.Valid():
		return fmt.Errorf("%w: priority: %v is not a Falco priority", ErrInvalidAlert, a.Priority)
	case a.Rule == "":
		return fmt.Errorf("%w: rule: empty", ErrInvalidAlert)
	case a.Time.IsZero():
		return fmt.Errorf("%w: time: zero", ErrInvalidAlert)
	case a.Output == "":
		return fmt.Errorf("%w: output: empty", ErrInvalidAlert)
	case len(a.OutputFields) == 0:
		return fmt.Errorf("%w: output_fields: empty", ErrInvalidAlert)
	}
	return nil
}

// FormatOutput renders Falco's output line: the event time (UTC,
// nanoseconds), the priority, then msg — "19:09:10.123456789: Warning msg".
func FormatOutput(t time.Time, p Priority, msg string) string {
	return t.UTC().Format(outputTimeFormat) + ": " + p.String() + " " + msg
}

// hostname is the node's name, looked up once.
var hostname = sync.OnceValue(func() string {
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	return h
})

// NewAlert builds an alert the way Falco does: Output is msg prefixed by
// [FormatOutput], Source is [Source], Hostname is the node's host name, Tags
// is never nil. fields must hold every field msg references.
func NewAlert(t time.Time, rule string, p Priority, msg string, fields map[string]any, tags []string) Alert {
	if tags == nil {
		tags = []string{}
	}
	return Alert{
		Hostname:     hostname(),
		Output:       FormatOutput(t, p, msg),
		OutputFields: fields,
		Priority:     p,
		Rule:         rule,
		Source:       Source,
		Tags:         tags,
		Time:         t.UTC(),
	}
}
