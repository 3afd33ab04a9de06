package lang

import (
	"errors"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"

	"github.com/llmops/llmops/engine/values"
	"github.com/llmops/llmops/plugins/sdk/scrub"
)

// hideSensitiveInErrors wraps f so that an error it returns on sensitive
// arguments never quotes them: tonumber(var.secret) fails with
// `cannot convert (sensitive) to number`, file(var.secret) with
// `open /dir/(sensitive): ...`. Everything else (types, unknowns, marks on
// the result, refinements) is f's own behaviour: the wrapper accepts every
// argument and lets f check it.
func hideSensitiveInErrors(f function.Function) function.Function {
	open := func(p function.Parameter) function.Parameter {
		p.AllowMarked, p.AllowUnknown, p.AllowNull, p.AllowDynamicType = true, true, true, true
		return p
	}
	spec := &function.Spec{Description: f.Description()}
	for _, p := range f.Params() {
		spec.Params = append(spec.Params, open(p))
	}
	if vp := f.VarParam(); vp != nil {
		p := open(*vp)
		spec.VarParam = &p
	}
	spec.Type = func(args []cty.Value) (cty.Type, error) {
		ty, err := f.ReturnTypeForValues(args)
		return ty, scrubArgError(err, args)
	}
	spec.Impl = func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		v, err := f.Call(args)
		return v, scrubArgError(err, args)
	}
	return function.New(spec)
}

// scrubArgError replaces the sensitive parts of args in err's message,
// keeping which argument it is about.
func scrubArgError(err error, args []cty.Value) error {
	if err == nil {
		return nil
	}
	var set *scrub.Set
	for _, a := range args {
		if !a.ContainsMarked() {
			continue
		}
		for _, leaf := range values.SecretLeaves(a) {
			if set == nil {
				set = scrub.New()
			}
			set.Add(leafText(leaf))
		}
	}
	if set.Len() == 0 {
		return err
	}
	msg := set.String(err.Error())
	if msg == err.Error() {
		return err
	}
	var ae function.ArgError
	if errors.As(err, &ae) {
		return function.NewArgError(ae.Index, errors.New(set.String(ae.Error())))
	}
	return errors.New(msg)
}

func leafText(v cty.Value) string {
	switch v.Type() {
	case cty.String:
		return v.AsString()
	case cty.Number:
		return v.AsBigFloat().Text('f', -1)
	}
	return ""
}
