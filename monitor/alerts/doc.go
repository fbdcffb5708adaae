// Package alerts defines vigil's alert record and the outputs that deliver
// it.
//
// An [Alert] is Falco's JSON alert, field for field as Falco emits it
// (hostname, output, output_fields, priority, rule, source, tags, time, in
// that order), so anything that consumes Falco's json_output — falcosidekick
// first of all — consumes vigil's alerts unchanged. vigil adds one object,
// "vigil", that says what vigil did about the event (alert, kill, deny ...);
// consumers that do not know it ignore it.
//
// Outputs implement [Output]. [File] appends one JSON line per alert to a
// file. [Webhook] POSTs each alert as a JSON body to a URL (falcosidekick
// listens on POST /); its Send never blocks: alerts wait in a bounded queue
// and are dropped and counted when it is full, delivery is retried with
// bounded exponential backoff, and Close drains the queue until a deadline.
// [Fanout] sends each alert to several outputs, each with its own minimum
// priority; [New] builds one from a [Config].
//
// [Priority] is Falco's priority scale; it parses Falco's spellings (case
// insensitive, "info" for "informational") and orders from Debug (lowest) to
// Emergency (highest).
//
// The package never logs: delivery failures are counted in [Stats].
package alerts
