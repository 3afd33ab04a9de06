package protocol

import (
	"errors"
	"fmt"
	"strings"

	"github.com/zclconf/go-cty/cty"
)

// Severity of a diagnostic.
type Severity int

const (
	Error Severity = iota
	Warning
)

// Diagnostic is a problem reported by a provider. Attribute, when set,
// points at the attribute of the configuration at fault; the engine turns
// it into the source range of that attribute in the user's file.
type Diagnostic struct {
	Severity  Severity
	Summary   string
	Detail    string
	Attribute cty.Path
}

// Diagnostics is a list of diagnostics.
type Diagnostics []Diagnostic

// HasErrors reports whether any diagnostic is an error.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// Err returns the errors joined into one error, or nil.
func (ds Diagnostics) Err() error {
	var msgs []string
	var refusal *CapacityError
	for _, d := range ds {
		if d.Severity != Error {
			continue
		}
		if refusal == nil && IsCapacityRefused(d.Summary) {
			refusal = &CapacityError{Summary: strings.TrimPrefix(d.Summary, CapacityRefusedPrefix), Detail: d.Detail}
		}
		m := d.Summary
		if d.Detail != "" {
			m += ": " + d.Detail
		}
		msgs = append(msgs, m)
	}
	if len(msgs) == 0 {
		return nil
	}
	if refusal != nil && len(msgs) == 1 {
		return refusal
	}
	return fmt.Errorf("%s", strings.Join(msgs, "; "))
}

// Errorf appends an error diagnostic without an attribute.
func (ds *Diagnostics) Errorf(summary, detailFormat string, args ...any) {
	*ds = append(*ds, Diagnostic{Severity: Error, Summary: summary, Detail: fmt.Sprintf(detailFormat, args...)})
}

// AttrErrorf appends an error diagnostic about the attribute at path.
func (ds *Diagnostics) AttrErrorf(path cty.Path, summary, detailFormat string, args ...any) {
	*ds = append(*ds, Diagnostic{Severity: Error, Summary: summary, Detail: fmt.Sprintf(detailFormat, args...), Attribute: path})
}

// Warnf appends a warning.
func (ds *Diagnostics) Warnf(summary, detailFormat string, args ...any) {
	*ds = append(*ds, Diagnostic{Severity: Warning, Summary: summary, Detail: fmt.Sprintf(detailFormat, args...)})
}

// FromError appends err as an error diagnostic with the given summary.
func (ds *Diagnostics) FromError(summary string, err error) {
	if err == nil {
		return
	}
	// A capacity refusal stays one, whatever wrapped it, so that a
	// placement can fall back (the wrapping summary goes in the detail).
	var refusal *CapacityError
	if errors.As(err, &refusal) {
		*ds = append(*ds, CapacityRefused(refusal.Summary, summary+": "+err.Error()))
		return
	}
	*ds = append(*ds, Diagnostic{Severity: Error, Summary: summary, Detail: err.Error()})
}

// PathString renders a cty path as `a.b[0]["k"]` for messages.
func PathString(p cty.Path) string {
	var b strings.Builder
	for _, step := range p {
		switch s := step.(type) {
		case cty.GetAttrStep:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.Name)
		case cty.IndexStep:
			k := s.Key
			switch {
			case !k.IsKnown():
				b.WriteString("[*]")
			case k.Type() == cty.String:
				fmt.Fprintf(&b, "[%q]", k.AsString())
			case k.Type() == cty.Number:
				fmt.Fprintf(&b, "[%s]", k.AsBigFloat().Text('f', -1))
			default:
				b.WriteString("[?]")
			}
		}
	}
	return b.String()
}
