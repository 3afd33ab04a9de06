// Package render turns engine results into text for people and JSON for
// machines: diagnostics with their source line and a caret, plans as
// attribute-level diffs, state objects and outputs. Sensitive values are
// never rendered; unknown values read "(known after apply)".
//
// It is the only place that knows about colour and terminal layout.
package render
