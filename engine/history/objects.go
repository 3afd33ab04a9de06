package history

import (
	"errors"
	"fmt"
	"sort"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/values"
	"github.com/llmops/llmops/state"
)

// Object is a recorded object with its decoded value.
type Object struct {
	*state.Object
	Value cty.Value
	// Sealed is true when the object has sealed sensitive parts that no
	// key opened (they are null in Value).
	Sealed bool
}

// Decode decodes every object of a snapshot, keyed by address. Sealed
// sensitive parts stay null (and marked) unless key opens them.
func Decode(snap *state.Snapshot, key ...values.Sealer) (map[addrs.ResourceInstance]*Object, error) {
	var s values.Sealer
	if len(key) > 0 {
		s = key[0]
	}
	out := make(map[addrs.ResourceInstance]*Object, len(snap.Objects))
	for _, o := range snap.Objects {
		v, err := values.DecodeSealed(values.Encoded{Value: o.ValueJSON, Type: o.TypeJSON, Sensitive: o.SensitivePaths}, s, false)
		sealed := errors.Is(err, values.ErrSealed)
		if err != nil && !sealed {
			return nil, fmt.Errorf("%s: %w", o.Addr, err)
		}
		out[o.Addr] = &Object{Object: o, Value: v, Sealed: sealed}
	}
	return out, nil
}

// Attr returns a top-level attribute of an object value, or NilVal.
func Attr(v cty.Value, name string) cty.Value {
	u, _ := v.Unmark()
	if u.IsNull() || !u.IsKnown() || !u.Type().IsObjectType() || !u.Type().HasAttribute(name) {
		return cty.NilVal
	}
	return u.GetAttr(name)
}

// AttrString returns a string attribute, or "".
func AttrString(v cty.Value, name string) string {
	a := Attr(v, name)
	if a == cty.NilVal || a.IsMarked() || a.IsNull() || !a.IsKnown() || a.Type() != cty.String {
		return ""
	}
	return a.AsString()
}

// ChangeKind says how an object differs between two versions.
type ChangeKind string

const (
	Added   ChangeKind = "added"
	Removed ChangeKind = "removed"
	Changed ChangeKind = "changed"
)

// ObjectDiff is one object that differs between two versions.
type ObjectDiff struct {
	Addr   addrs.ResourceInstance
	Kind   ChangeKind
	Before *Object // nil when added
	After  *Object // nil when removed
}

// Diff lists the objects that differ between snapshots a and b, ordered by
// address. filter, when not nil, keeps only matching addresses.
func Diff(a, b *state.Snapshot, filter func(addrs.ResourceInstance) bool, key ...values.Sealer) ([]ObjectDiff, error) {
	am, err := Decode(a, key...)
	if err != nil {
		return nil, err
	}
	bm, err := Decode(b, key...)
	if err != nil {
		return nil, err
	}
	seen := map[addrs.ResourceInstance]bool{}
	var out []ObjectDiff
	add := func(addr addrs.ResourceInstance) {
		if seen[addr] || (filter != nil && !filter(addr)) {
			return
		}
		seen[addr] = true
		before, after := am[addr], bm[addr]
		switch {
		case before == nil:
			out = append(out, ObjectDiff{Addr: addr, Kind: Added, After: after})
		case after == nil:
			out = append(out, ObjectDiff{Addr: addr, Kind: Removed, Before: before})
		case before.Serial != after.Serial || !values.Equal(before.Value, after.Value) || before.Status != after.Status:
			if values.Equal(before.Value, after.Value) && before.Status == after.Status {
				return
			}
			out = append(out, ObjectDiff{Addr: addr, Kind: Changed, Before: before, After: after})
		}
	}
	for addr := range am {
		add(addr)
	}
	for addr := range bm {
		add(addr)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr.Less(out[j].Addr) })
	return out, nil
}
