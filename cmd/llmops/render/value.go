package render

import (
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/engine/values"
)

const (
	unknownText   = "(known after apply)"
	sensitiveText = "(sensitive)"
)

// differ writes attribute-level diffs of cty values, laid out as
// Terraform does: each nesting level indents by four, and in a diff the
// change symbol sits in the two columns before the name.
type differ struct {
	b *strings.Builder
	c *Colors
	// forces lists the attribute paths that force replacement.
	forces []cty.Path
	// gutter starts every line the differ writes (a plan's "  ").
	gutter string
	// plain leaves out the symbol column: a value shown, not a diff
	// (state show).
	plain bool
}

// lead is the indentation of a line at nesting level n.
func (d *differ) lead(n int) string { return d.gutter + indent(n) }

// mark is the symbol column of a line: the symbol and a space, or nothing
// for a plain value.
func (d *differ) mark(s sym) string {
	if d.plain {
		return ""
	}
	return d.sym(s) + " "
}

// closing is the indentation of the bracket that closes a value opened at
// level n.
func (d *differ) closing(n int) string {
	if d.plain {
		return d.lead(n)
	}
	return d.lead(n) + "  "
}

type sym int

const (
	symNone sym = iota
	symAdd
	symDel
	symChg
)

func (d *differ) sym(s sym) string {
	switch s {
	case symAdd:
		return d.c.Add("+")
	case symDel:
		return d.c.Del("-")
	case symChg:
		return d.c.Chg("~")
	}
	return " "
}

func isSensitive(v cty.Value) bool { return v.HasMark(values.Sensitive) }

// scalar renders a value on one line, or "" when it needs several.
func scalar(v cty.Value) (string, bool) {
	if isSensitive(v) {
		return sensitiveText, true
	}
	v, _ = v.Unmark()
	if !v.IsKnown() {
		return unknownText, true
	}
	if v.IsNull() {
		return "null", true
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		return strconv.Quote(v.AsString()), true
	case ty == cty.Number:
		return NumberText(v.AsBigFloat()), true
	case ty == cty.Bool:
		if v.True() {
			return "true", true
		}
		return "false", true
	case ty.IsCollectionType() || ty.IsTupleType() || ty.IsObjectType():
		if v.LengthInt() == 0 {
			if ty.IsObjectType() || ty.IsMapType() {
				return "{}", true
			}
			return "[]", true
		}
	}
	return "", false
}

// ScalarString renders a single-line value, or a compact JSON-like form.
func ScalarString(v cty.Value) string {
	if s, ok := scalar(v); ok {
		return s
	}
	var b strings.Builder
	d := &differ{b: &b, c: NewColors(false), plain: true}
	d.value(v, 0, symNone)
	return strings.TrimSpace(b.String())
}

func indent(n int) string { return strings.Repeat("    ", n) }

// value writes v (multi-line when needed) starting after "name = ".
func (d *differ) value(v cty.Value, depth int, s sym) {
	if str, ok := scalar(v); ok {
		d.b.WriteString(str)
		return
	}
	v, _ = v.Unmark()
	ty := v.Type()
	if ty.IsObjectType() || ty.IsMapType() {
		d.b.WriteString("{\n")
		m := v.AsValueMap()
		keys := sortedMapKeys(m)
		w := keyWidth(keys, ty.IsMapType())
		for _, k := range keys {
			d.b.WriteString(d.lead(depth+1) + d.mark(s) + pad(keyText(k, ty.IsMapType()), w) + " = ")
			d.value(m[k], depth+1, s)
			d.b.WriteString("\n")
		}
		d.b.WriteString(d.closing(depth) + "}")
		return
	}
	d.b.WriteString("[\n")
	for it := v.ElementIterator(); it.Next(); {
		_, ev := it.Element()
		d.b.WriteString(d.lead(depth+1) + d.mark(s))
		d.value(ev, depth+1, s)
		d.b.WriteString(",\n")
	}
	d.b.WriteString(d.closing(depth) + "]")
}

// attrs writes the attributes of an object diff between before and after.
// It returns the number of unchanged attributes it hid.
func (d *differ) attrs(before, after cty.Value, depth int, path cty.Path, showAll bool) int {
	bm, am := objMap(before), objMap(after)
	names := map[string]bool{}
	for k := range bm {
		names[k] = true
	}
	for k := range am {
		names[k] = true
	}
	keys := make([]string, 0, len(names))
	for k := range names {
		bv, av := bm[k], am[k]
		if isNullish(bv) && isNullish(av) {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	isMap := before.Type().IsMapType() || after.Type().IsMapType()
	w := keyWidth(keys, isMap)
	hidden := 0
	for _, k := range keys {
		bv, av := bm[k], am[k]
		p := append(path.Copy(), cty.GetAttrStep{Name: k})
		if !showAll && equalForDiff(bv, av) {
			hidden++
			continue
		}
		d.attr(keyText(k, isMap), w, bv, av, depth, p)
	}
	return hidden
}

func (d *differ) attr(name string, w int, bv, av cty.Value, depth int, p cty.Path) {
	lead := d.lead(depth + 1)
	forces := ""
	if d.forcesAt(p) {
		forces = d.c.Del(" # forces replacement")
	}
	switch {
	case isNullish(bv) && !isNullish(av):
		d.b.WriteString(lead + d.sym(symAdd) + " " + pad(name, w) + " = ")
		d.value(av, depth+1, symAdd)
	case !isNullish(bv) && isNullish(av):
		d.b.WriteString(lead + d.sym(symDel) + " " + pad(name, w) + " = ")
		d.value(bv, depth+1, symDel)
		d.b.WriteString(" -> null")
	case equalForDiff(bv, av):
		d.b.WriteString(lead + "  " + pad(name, w) + " = ")
		d.value(av, depth+1, symNone)
	case nestable(bv) && nestable(av):
		d.b.WriteString(lead + d.sym(symChg) + " " + pad(name, w) + " = {" + forces + "\n")
		hidden := d.attrs(bv, av, depth+1, p, false)
		if hidden > 0 {
			d.b.WriteString(d.lead(depth+2) + "  " + d.c.Dim(fmt.Sprintf("# (%d unchanged %s hidden)", hidden, plural(hidden, "element"))) + "\n")
		}
		d.b.WriteString(lead + "  }\n")
		return
	default:
		d.b.WriteString(lead + d.sym(symChg) + " " + pad(name, w) + " = ")
		d.value(bv, depth+1, symDel)
		d.b.WriteString(" -> ")
		d.value(av, depth+1, symAdd)
	}
	d.b.WriteString(forces + "\n")
}

func (d *differ) forcesAt(p cty.Path) bool {
	for _, f := range d.forces {
		if f.Equals(p) {
			return true
		}
	}
	return false
}

func nestable(v cty.Value) bool {
	if isSensitive(v) {
		return false
	}
	v, _ = v.Unmark()
	return v.IsKnown() && !v.IsNull() && (v.Type().IsObjectType() || v.Type().IsMapType())
}

func isNullish(v cty.Value) bool {
	if v == cty.NilVal {
		return true
	}
	u, _ := v.Unmark()
	return u.IsKnown() && u.IsNull()
}

func equalForDiff(a, b cty.Value) bool {
	if a == cty.NilVal || b == cty.NilVal {
		return a == b
	}
	if isSensitive(a) != isSensitive(b) {
		return false
	}
	ua, _ := a.UnmarkDeep()
	ub, _ := b.UnmarkDeep()
	if !ua.IsWhollyKnown() || !ub.IsWhollyKnown() {
		return false
	}
	if ua.IsNull() || ub.IsNull() {
		return ua.IsNull() && ub.IsNull()
	}
	eq := ua.Equals(ub)
	return eq.IsKnown() && eq.True()
}

func objMap(v cty.Value) map[string]cty.Value {
	if v == cty.NilVal {
		return nil
	}
	marked := v.IsMarked()
	u, marks := v.Unmark()
	if !u.IsKnown() || u.IsNull() || !(u.Type().IsObjectType() || u.Type().IsMapType()) {
		return nil
	}
	m := u.AsValueMap()
	if marked {
		for k, ev := range m {
			m[k] = ev.WithMarks(marks)
		}
	}
	return m
}

func sortedMapKeys(m map[string]cty.Value) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func keyText(k string, quote bool) string {
	if quote || !validIdent(k) {
		return strconv.Quote(k)
	}
	return k
}

func validIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == '_' || r == '-' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9') {
			continue
		}
		return false
	}
	return true
}

func keyWidth(keys []string, quote bool) int {
	w := 0
	for _, k := range keys {
		if n := len(keyText(k, quote)); n > w {
			w = n
		}
	}
	return w
}

func pad(s string, w int) string {
	if len(s) >= w {
		return s
	}
	return s + strings.Repeat(" ", w-len(s))
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func sensitiveMarkValue() any { return values.Sensitive }

// HCL renders a value as HCL-like text for `output` and apply summaries:
// maps and objects as blocks of `key = value`, lists one item a line.
func HCL(v cty.Value) string {
	var b strings.Builder
	hclValue(&b, v, 0)
	return b.String()
}

func hclValue(b *strings.Builder, v cty.Value, depth int) {
	if s, ok := scalar(v); ok {
		b.WriteString(s)
		return
	}
	v, _ = v.Unmark()
	lead := strings.Repeat("  ", depth+1)
	ty := v.Type()
	if ty.IsObjectType() || ty.IsMapType() {
		m := v.AsValueMap()
		keys := sortedMapKeys(m)
		w := keyWidth(keys, ty.IsMapType())
		b.WriteString("{\n")
		for _, k := range keys {
			b.WriteString(lead + pad(keyText(k, ty.IsMapType()), w) + " = ")
			hclValue(b, m[k], depth+1)
			b.WriteString("\n")
		}
		b.WriteString(strings.Repeat("  ", depth) + "}")
		return
	}
	b.WriteString("[\n")
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		b.WriteString(lead)
		hclValue(b, e, depth+1)
		b.WriteString(",\n")
	}
	b.WriteString(strings.Repeat("  ", depth) + "]")
}

// NumberText is a number as the plan and show print it. A measurement
// carries float noise (a monitor's 2.2749999999999995): a number whose
// decimal form has more than 15 significant digits is rounded for
// display, to 2 decimals from 1 up, else to 4 significant digits (2.27,
// 0.01235). Numbers as written in configuration are printed exactly.
func NumberText(f *big.Float) string {
	exact := f.Text('f', -1)
	digits := strings.TrimLeft(strings.Replace(strings.TrimPrefix(exact, "-"), ".", "", 1), "0")
	if len(digits) <= 15 || f.IsInf() {
		return exact
	}
	x, _ := f.Float64()
	var r string
	if math.Abs(x) >= 1 {
		r = strconv.FormatFloat(x, 'f', 2, 64)
	} else {
		r = strconv.FormatFloat(x, 'g', 4, 64)
		if g, err := strconv.ParseFloat(r, 64); err == nil {
			r = strconv.FormatFloat(g, 'f', -1, 64)
		}
	}
	if strings.Contains(r, ".") {
		r = strings.TrimRight(strings.TrimRight(r, "0"), ".")
	}
	return r
}
