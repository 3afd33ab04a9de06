package schema

import (
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"

	"github.com/zclconf/go-cty/cty"
)

// Gate is one `gate { metric, min, max }` block of an evaluation, or a
// gate on the spread of a metric's slices (`gate { metric, max_gap }`).
type Gate struct {
	Metric string
	Min    *float64
	Max    *float64
	// MaxGap bounds max - min over the metric's slices: the results named
	// METRIC.SLICE (Slices).
	MaxGap *float64
}

// String renders the gate as in messages: `accuracy >= 0.8`,
// `0.1 <= loss <= 0.5`.
func (g Gate) String() string {
	switch {
	case g.MaxGap != nil:
		return fmt.Sprintf("gap(%s.*) <= %s", g.Metric, num(*g.MaxGap))
	case g.Min != nil && g.Max != nil:
		return fmt.Sprintf("%s <= %s <= %s", num(*g.Min), g.Metric, num(*g.Max))
	case g.Min != nil:
		return fmt.Sprintf("%s >= %s", g.Metric, num(*g.Min))
	case g.Max != nil:
		return fmt.Sprintf("%s <= %s", g.Metric, num(*g.Max))
	}
	return g.Metric
}

// GatesFrom decodes the `gate` blocks of an evaluation's value (a list of
// objects). Gates with an unknown or null metric are skipped.
func GatesFrom(v cty.Value) []Gate {
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() || !v.CanIterateElements() {
		return nil
	}
	var out []Gate
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsNull() || !e.IsKnown() || !e.Type().IsObjectType() {
			continue
		}
		m := getAttr(e, "metric")
		if m.IsNull() || !m.IsKnown() || m.Type() != cty.String {
			continue
		}
		g := Gate{Metric: m.AsString()}
		g.Min = floatPtr(getAttr(e, "min"))
		g.Max = floatPtr(getAttr(e, "max"))
		g.MaxGap = floatPtr(getAttr(e, "max_gap"))
		out = append(out, g)
	}
	return out
}

// GateFailure is a gate that did not pass.
type GateFailure struct {
	Index int // position of the gate block
	Gate  Gate
	// Missing: the results have no such metric (for a max_gap gate,
	// fewer than two slices). Otherwise Value is the measured value (the
	// gap) and Bound which bound it broke ("min", "max" or "max_gap");
	// for a gap, Low and High name the worst and best slices.
	Missing   bool
	Value     float64
	Bound     string
	Low, High string
}

// Message says what failed, e.g. `gate "accuracy" failed: 0.62 < min 0.8`.
func (f GateFailure) Message(results map[string]float64) string {
	if f.Missing {
		names := make([]string, 0, len(results))
		for n := range results {
			names = append(names, n)
		}
		sort.Strings(names)
		have := "none"
		if len(names) > 0 {
			have = strings.Join(names, ", ")
		}
		if f.Gate.MaxGap != nil {
			return fmt.Sprintf("gate %q: max_gap needs at least two slices named %s.SLICE; the evaluation reported: %s", f.Gate.Metric, f.Gate.Metric, have)
		}
		return fmt.Sprintf("gate %q: the evaluation reported no metric %q; it reported: %s", f.Gate.Metric, f.Gate.Metric, have)
	}
	if f.Bound == "max_gap" {
		return fmt.Sprintf("gate %q failed: the gap between slices is %s > max_gap %s (%s = %s, %s = %s)", f.Gate.Metric, num(f.Value), num(*f.Gate.MaxGap),
			f.High, num(results[f.High]), f.Low, num(results[f.Low]))
	}
	if f.Bound == "min" {
		return fmt.Sprintf("gate %q failed: %s < min %s", f.Gate.Metric, num(f.Value), num(*f.Gate.Min))
	}
	return fmt.Sprintf("gate %q failed: %s > max %s", f.Gate.Metric, num(f.Value), num(*f.Gate.Max))
}

// CheckGates checks results against gates and returns the failures in gate
// order (none: every gate passed).
func CheckGates(gates []Gate, results map[string]float64) []GateFailure {
	var out []GateFailure
	for i, g := range gates {
		if g.MaxGap != nil {
			sl := Slices(results, g.Metric)
			if len(sl) < 2 {
				out = append(out, GateFailure{Index: i, Gate: g, Missing: true})
				continue
			}
			lo, hi := sl[0], sl[0]
			for _, n := range sl[1:] {
				if results[n] < results[lo] {
					lo = n
				}
				if results[n] > results[hi] {
					hi = n
				}
			}
			if gap := results[hi] - results[lo]; gap > *g.MaxGap+1e-12 {
				out = append(out, GateFailure{Index: i, Gate: g, Value: gap, Bound: "max_gap", Low: lo, High: hi})
			}
			continue
		}
		v, ok := results[g.Metric]
		switch {
		case !ok:
			out = append(out, GateFailure{Index: i, Gate: g, Missing: true})
		case g.Min != nil && v < *g.Min:
			out = append(out, GateFailure{Index: i, Gate: g, Value: v, Bound: "min"})
		case g.Max != nil && v > *g.Max:
			out = append(out, GateFailure{Index: i, Gate: g, Value: v, Bound: "max"})
		}
	}
	return out
}

// Slices returns the names of a metric's slices in results, sorted: the
// results named METRIC.SLICE (metrics.json stays one flat object of
// numbers; "accuracy_by_group.a" is the slice "a" of accuracy_by_group).
func Slices(results map[string]float64, metric string) []string {
	var out []string
	for n := range results {
		if rest, ok := strings.CutPrefix(n, metric+"."); ok && rest != "" {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

func num(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func floatPtr(v cty.Value) *float64 {
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() || v.Type() != cty.Number {
		return nil
	}
	f, _ := v.AsBigFloat().Float64()
	return &f
}

func getAttr(v cty.Value, name string) cty.Value {
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() || !v.Type().IsObjectType() || !v.Type().HasAttribute(name) {
		return cty.NilVal
	}
	return v.GetAttr(name)
}

// known reports whether v is set and wholly known.
func known(v cty.Value) bool { return v != cty.NilVal && !v.IsNull() && v.IsWhollyKnown() }

func bigFloat(v cty.Value) *big.Float { u, _ := v.Unmark(); return u.AsBigFloat() }

func bigFloatOf(i int64) *big.Float { return new(big.Float).SetInt64(i) }
