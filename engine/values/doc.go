// Package values encodes cty values for storage and plan files (JSON with
// the exact type alongside, so dynamic values survive) and owns the
// sensitive mark: which parts of a value must never be shown, and the
// conversion between marks and the list of sensitive attribute paths that
// is stored beside a value.
package values
