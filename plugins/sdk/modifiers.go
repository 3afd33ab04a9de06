package sdk

import (
	"fmt"
	"math/big"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// Plan modifiers and validators declared on attributes. The framework
// applies them; ModifyPlan and Validate remain for what they cannot say.
//
//	"region":  sdk.Attr(cty.String).Optional().Computed().Default(cty.StringVal("eu")),
//	"image":   sdk.Attr(cty.String).Required().RequiresReplace(),
//	"size":    sdk.Attr(cty.Number).Required().RequiresReplaceIf(shrinks, "a smaller size replaces the volume"),
//	"mode":    sdk.Attr(cty.String).Optional().Validate(sdk.OneOf("fast", "safe")),
//	"timeout": sdk.Attr(cty.String).Optional().Validate(sdk.Duration()),

// Default: the value planned when the configuration leaves the attribute
// unset. The attribute must be Optional and Computed (the provider, not
// the user, then sets the value). Shown by `llmops providers schema` and
// the reference pages.
func (a *Attribute) Default(v cty.Value) *Attribute { a.a.Default = v; return a }

// RequiresReplace: a change of the value replaces the object (ForceNew).
func (a *Attribute) RequiresReplace() *Attribute { return a.ForceNew() }

// RequiresReplaceIf: a change of the value replaces the object when f
// says so (prior and planned are the attribute's values, both known and
// different); otherwise the object is updated in place. why says when, for
// the documentation.
func (a *Attribute) RequiresReplaceIf(f func(prior, planned cty.Value) bool, why string) *Attribute {
	a.replaceIf = f
	if why != "" && !strings.Contains(a.a.Description, why) {
		a.a.Description = strings.TrimSpace(a.a.Description + " Replaces the object when " + why + ".")
	}
	return a
}

// Validate adds checks of the attribute's value, run on every validate
// and plan when the value is known and not null; each failure is an error
// diagnostic on the attribute.
func (a *Attribute) Validate(v ...Validator) *Attribute {
	a.validators = append(a.validators, v...)
	return a
}

// Validator checks one attribute value (known, not null).
type Validator interface {
	// Check returns what is wrong with v, as a sentence fragment ("must be
	// one of ..."), or nil.
	Check(v cty.Value) error
}

// ValidatorFunc adapts a function to a Validator.
type ValidatorFunc func(v cty.Value) error

// Check calls f.
func (f ValidatorFunc) Check(v cty.Value) error { return f(v) }

// OneOf accepts a string among values.
func OneOf(values ...string) Validator {
	return ValidatorFunc(func(v cty.Value) error {
		if v.Type() != cty.String {
			return nil
		}
		for _, x := range values {
			if v.AsString() == x {
				return nil
			}
		}
		return fmt.Errorf("must be one of %s; %q is not", quoteList(values), v.AsString())
	})
}

// Range accepts a number from min to max, both included.
func Range(min, max float64) Validator {
	return ValidatorFunc(func(v cty.Value) error {
		if v.Type() != cty.Number {
			return nil
		}
		f := v.AsBigFloat()
		if f.Cmp(big.NewFloat(min)) < 0 || f.Cmp(big.NewFloat(max)) > 0 {
			return fmt.Errorf("must be from %g to %g; %s is not", min, max, f.Text('g', -1))
		}
		return nil
	})
}

// Regex accepts a string re matches; what describes the expected form
// ("a lower-case name").
func Regex(re *regexp.Regexp, what string) Validator {
	return ValidatorFunc(func(v cty.Value) error {
		if v.Type() != cty.String || re.MatchString(v.AsString()) {
			return nil
		}
		return fmt.Errorf("must be %s (matching %s); %q is not", what, re, v.AsString())
	})
}

// Duration accepts a Go duration ("90m", "1h30m") with days allowed
// ("2d12h"); a bare number is refused.
func Duration() Validator {
	return ValidatorFunc(func(v cty.Value) error {
		if v.Type() != cty.String {
			return nil
		}
		if _, err := ParseDuration(v.AsString()); err != nil {
			return fmt.Errorf("must be a duration with a unit, such as \"90m\", \"6h\" or \"1d\": %v", err)
		}
		return nil
	})
}

// ParseDuration parses a Go duration whose leading part may be days ("1d",
// "2d12h").
func ParseDuration(s string) (time.Duration, error) {
	var days time.Duration
	if i := strings.Index(s, "d"); i > 0 {
		var n int64
		if _, err := fmt.Sscanf(s[:i], "%d", &n); err != nil || fmt.Sprint(n) != s[:i] {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		days, s = time.Duration(n)*24*time.Hour, s[i+1:]
		if s == "" {
			return days, nil
		}
	}
	d, err := time.ParseDuration(s)
	return days + d, err
}

// URL accepts an absolute URL with a host, whose scheme is one of schemes
// (any when none is given).
func URL(schemes ...string) Validator {
	return ValidatorFunc(func(v cty.Value) error {
		if v.Type() != cty.String {
			return nil
		}
		u, err := url.Parse(v.AsString())
		if err != nil || u.Scheme == "" || u.Host == "" {
			return fmt.Errorf("must be an absolute URL such as \"https://host/path\"; %q is not", v.AsString())
		}
		if len(schemes) > 0 {
			for _, s := range schemes {
				if strings.EqualFold(u.Scheme, s) {
					return nil
				}
			}
			return fmt.Errorf("must use %s; %q uses %s", quoteList(schemes), v.AsString(), u.Scheme)
		}
		return nil
	})
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}

// hooks collects the attributes with validators or RequiresReplaceIf, by
// dotted path ("serve.command").
func (b Block) hooks(prefix string, out map[string]*Attribute) {
	for name, a := range b.Attributes {
		if a != nil && (a.replaceIf != nil || len(a.validators) > 0) {
			out[prefix+name] = a
		}
	}
	for name, nb := range b.Blocks {
		if nb != nil {
			nb.block.hooks(prefix+name+".", out)
		}
	}
}

// valuesAt finds the values at a dotted path in v (through nested
// blocks, every element of repeated ones), with their paths.
func valuesAt(v cty.Value, steps []string, p cty.Path, out func(cty.Value, cty.Path)) {
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() {
		return
	}
	ty := v.Type()
	switch {
	case len(steps) == 0:
		out(v, p)
	case ty.IsObjectType():
		if ty.HasAttribute(steps[0]) {
			valuesAt(v.GetAttr(steps[0]), steps[1:], append(p.Copy(), cty.GetAttrStep{Name: steps[0]}), out)
		}
	case ty.IsListType() || ty.IsSetType() || ty.IsMapType() || ty.IsTupleType():
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			valuesAt(e, steps, append(p.Copy(), cty.IndexStep{Key: k}), out)
		}
	}
}

// runValidators checks every declared validator against cfg.
func (ri *resourceInfo) runValidators(cfg cty.Value, diags *Diagnostics) {
	for path, a := range ri.hooks {
		for _, val := range a.validators {
			valuesAt(cfg, strings.Split(path, "."), nil, func(v cty.Value, p cty.Path) {
				if !v.IsWhollyKnown() {
					return
				}
				u, _ := v.UnmarkDeep()
				if err := val.Check(u); err != nil {
					diags.AttrErrorf(p, "Invalid value for "+path, "%s %v.", protocol.PathString(p), err)
				}
			})
		}
	}
}

// replaceIf adds the paths whose RequiresReplaceIf says the change
// replaces the object (top-level attributes and those of single blocks).
func (ri *resourceInfo) replaceIf(prior, planned cty.Value, out *[]cty.Path) {
	for path, a := range ri.hooks {
		if a.replaceIf == nil {
			continue
		}
		steps := strings.Split(path, ".")
		pv, nv := cty.NilVal, cty.NilVal
		var at cty.Path
		valuesAt(prior, steps, nil, func(v cty.Value, p cty.Path) { pv = v })
		valuesAt(planned, steps, nil, func(v cty.Value, p cty.Path) { nv, at = v, p })
		if pv == cty.NilVal || nv == cty.NilVal || !pv.IsWhollyKnown() || !nv.IsWhollyKnown() || !changed(pv, nv) {
			continue
		}
		if a.replaceIf(pv, nv) {
			*out = append(*out, at)
		}
	}
}
