package lang

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"

	"github.com/llmops/llmops/engine/configs"
	"github.com/llmops/llmops/engine/values"
)

var funcCache sync.Map // baseDir -> map[string]function.Function

// Functions returns the function table for expressions in a configuration
// whose relative paths resolve against baseDir. The table is cached per
// directory and safe for concurrent use.
func Functions(baseDir string) map[string]function.Function {
	if f, ok := funcCache.Load(baseDir); ok {
		return f.(map[string]function.Function)
	}
	fns := map[string]function.Function{
		"abs": stdlib.AbsoluteFunc, "ceil": stdlib.CeilFunc, "floor": stdlib.FloorFunc,
		"log": stdlib.LogFunc, "max": stdlib.MaxFunc, "min": stdlib.MinFunc,
		"parseint": stdlib.ParseIntFunc, "pow": stdlib.PowFunc, "signum": stdlib.SignumFunc,
		"chomp": stdlib.ChompFunc, "format": stdlib.FormatFunc, "formatlist": stdlib.FormatListFunc,
		"formatdate": stdlib.FormatDateFunc, "timeadd": stdlib.TimeAddFunc,
		"indent": stdlib.IndentFunc, "join": stdlib.JoinFunc, "lower": stdlib.LowerFunc,
		"regex": stdlib.RegexFunc, "regexall": stdlib.RegexAllFunc, "regex_replace": stdlib.RegexReplaceFunc,
		"replace": stdlib.ReplaceFunc, "split": stdlib.SplitFunc, "strlen": stdlib.StrlenFunc,
		"strrev": stdlib.ReverseFunc, "substr": stdlib.SubstrFunc, "title": stdlib.TitleFunc,
		"trim": stdlib.TrimFunc, "trimprefix": stdlib.TrimPrefixFunc, "trimsuffix": stdlib.TrimSuffixFunc,
		"trimspace": stdlib.TrimSpaceFunc, "upper": stdlib.UpperFunc,
		"chunklist": stdlib.ChunklistFunc, "coalesce": stdlib.CoalesceFunc, "coalescelist": stdlib.CoalesceListFunc,
		"compact": stdlib.CompactFunc, "concat": stdlib.ConcatFunc, "contains": stdlib.ContainsFunc,
		"distinct": stdlib.DistinctFunc, "element": stdlib.ElementFunc, "flatten": stdlib.FlattenFunc,
		"index": stdlib.IndexFunc, "keys": stdlib.KeysFunc, "length": stdlib.LengthFunc,
		"lookup": stdlib.LookupFunc, "merge": stdlib.MergeFunc, "range": stdlib.RangeFunc,
		"reverse": stdlib.ReverseListFunc, "setintersection": stdlib.SetIntersectionFunc,
		"setproduct": stdlib.SetProductFunc, "setsubtract": stdlib.SetSubtractFunc,
		"setunion": stdlib.SetUnionFunc, "setsymmetricdifference": stdlib.SetSymmetricDifferenceFunc,
		"slice": stdlib.SliceFunc, "sort": stdlib.SortFunc, "values": stdlib.ValuesFunc, "zipmap": stdlib.ZipmapFunc,
		"jsonencode": stdlib.JSONEncodeFunc, "jsondecode": stdlib.JSONDecodeFunc, "csvdecode": stdlib.CSVDecodeFunc,
		"tostring": stdlib.MakeToFunc(cty.String), "tonumber": stdlib.MakeToFunc(cty.Number),
		"tobool": stdlib.MakeToFunc(cty.Bool), "tolist": stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
		"toset": stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)), "tomap": stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),
		"try": tryfunc.TryFunc, "can": tryfunc.CanFunc,
		"base64encode": base64EncodeFunc, "base64decode": base64DecodeFunc,
		"sha256": hashStringFunc(sha256.New), "sha1": hashStringFunc(sha1.New),
		"sha512": hashStringFunc(sha512.New), "md5": hashStringFunc(md5.New),
		"file":         fileFunc(baseDir),
		"fileexists":   fileExistsFunc(baseDir),
		"filesha256":   fileHashFunc(baseDir, sha256.New),
		"filebase64":   fileBase64Func(baseDir),
		"abspath":      abspathFunc(baseDir),
		"basename":     stringFunc(filepath.Base),
		"dirname":      stringFunc(filepath.Dir),
		"sensitive":    sensitiveFunc,
		"nonsensitive": nonsensitiveFunc,
	}
	fns["templatefile"] = templateFileFunc(baseDir, fns)
	// Errors on sensitive arguments never quote them. try and can take
	// expressions, not values; sensitive and nonsensitive handle marks.
	for name, f := range fns {
		switch name {
		case "try", "can", "sensitive", "nonsensitive":
			continue
		}
		fns[name] = hideSensitiveInErrors(f)
	}
	actual, _ := funcCache.LoadOrStore(baseDir, fns)
	return actual.(map[string]function.Function)
}

func resolve(baseDir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(baseDir, p)
}

func fileFunc(baseDir string) function.Function {
	return function.New(&function.Spec{
		Description: "Reads a file relative to the configuration directory as UTF-8 text.",
		Params:      []function.Parameter{{Name: "path", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			b, err := os.ReadFile(resolve(baseDir, args[0].AsString()))
			if err != nil {
				return cty.NilVal, function.NewArgError(0, fmt.Errorf("cannot read file: %w", err))
			}
			return cty.StringVal(string(b)), nil
		},
	})
}

func fileExistsFunc(baseDir string) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "path", Type: cty.String}},
		Type:   function.StaticReturnType(cty.Bool),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			st, err := os.Stat(resolve(baseDir, args[0].AsString()))
			return cty.BoolVal(err == nil && st.Mode().IsRegular()), nil
		},
	})
}

func fileHashFunc(baseDir string, h func() hash.Hash) function.Function {
	return function.New(&function.Spec{
		Description: "Returns the hex digest of a file's contents.",
		Params:      []function.Parameter{{Name: "path", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			f, err := os.Open(resolve(baseDir, args[0].AsString()))
			if err != nil {
				return cty.NilVal, function.NewArgError(0, fmt.Errorf("cannot read file: %w", err))
			}
			defer f.Close()
			hh := h()
			if _, err := io.Copy(hh, f); err != nil {
				return cty.NilVal, function.NewArgError(0, err)
			}
			return cty.StringVal(hex.EncodeToString(hh.Sum(nil))), nil
		},
	})
}

func fileBase64Func(baseDir string) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "path", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			b, err := os.ReadFile(resolve(baseDir, args[0].AsString()))
			if err != nil {
				return cty.NilVal, function.NewArgError(0, fmt.Errorf("cannot read file: %w", err))
			}
			return cty.StringVal(base64.StdEncoding.EncodeToString(b)), nil
		},
	})
}

func abspathFunc(baseDir string) function.Function {
	return stringFunc(func(p string) string { return filepath.Clean(resolve(baseDir, p)) })
}

func stringFunc(f func(string) string) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "s", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return cty.StringVal(f(args[0].AsString())), nil
		},
	})
}

func hashStringFunc(h func() hash.Hash) function.Function {
	return stringFunc(func(s string) string {
		hh := h()
		hh.Write([]byte(s))
		return hex.EncodeToString(hh.Sum(nil))
	})
}

var base64EncodeFunc = stringFunc(func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) })

var base64DecodeFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "s", Type: cty.String}},
	Type:   function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		b, err := base64.StdEncoding.DecodeString(args[0].AsString())
		if err != nil {
			return cty.NilVal, function.NewArgError(0, fmt.Errorf("invalid base64: %w", err))
		}
		return cty.StringVal(string(b)), nil
	},
})

var sensitiveFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "value", Type: cty.DynamicPseudoType, AllowUnknown: true, AllowNull: true, AllowMarked: true, AllowDynamicType: true}},
	Type:   func(args []cty.Value) (cty.Type, error) { return args[0].Type(), nil },
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		return args[0].Mark(values.Sensitive), nil
	},
})

var nonsensitiveFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "value", Type: cty.DynamicPseudoType, AllowUnknown: true, AllowNull: true, AllowMarked: true, AllowDynamicType: true}},
	Type:   func(args []cty.Value) (cty.Type, error) { return args[0].Type(), nil },
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		v, _ := args[0].Unmark()
		return v, nil
	},
})

func templateFileFunc(baseDir string, fns map[string]function.Function) function.Function {
	return function.New(&function.Spec{
		Description: "Renders a template file with the given variables.",
		Params: []function.Parameter{
			{Name: "path", Type: cty.String},
			{Name: "vars", Type: cty.DynamicPseudoType},
		},
		Type: function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			p := resolve(baseDir, args[0].AsString())
			src, err := os.ReadFile(p)
			if err != nil {
				return cty.NilVal, function.NewArgError(0, fmt.Errorf("cannot read template: %w", err))
			}
			if diags := configs.CheckTemplateNesting(src, p); diags.HasErrors() {
				return cty.NilVal, function.NewArgError(0, diags)
			}
			expr, diags := hclsyntax.ParseTemplate(src, p, hcl.InitialPos)
			if diags.HasErrors() {
				return cty.NilVal, function.NewArgError(0, diags)
			}
			vars := args[1]
			if !vars.Type().IsObjectType() && !vars.Type().IsMapType() {
				return cty.NilVal, function.NewArgErrorf(1, "vars must be an object or a map")
			}
			ctxVars := map[string]cty.Value{}
			for it := vars.ElementIterator(); it.Next(); {
				k, v := it.Element()
				ctxVars[k.AsString()] = v
			}
			for _, tr := range expr.Variables() {
				if _, ok := ctxVars[tr.RootName()]; !ok {
					return cty.NilVal, function.NewArgErrorf(1, "the template refers to %q, which is not among the vars given", tr.RootName())
				}
			}
			inner := make(map[string]function.Function, len(fns))
			for k, f := range fns {
				if k != "templatefile" {
					inner[k] = f
				}
			}
			val, diags := expr.Value(&hcl.EvalContext{Variables: ctxVars, Functions: inner})
			if diags.HasErrors() {
				return cty.NilVal, function.NewArgError(0, diags)
			}
			return val, nil
		},
	})
}

// FunctionNames lists the available function names, for error messages.
func FunctionNames(baseDir string) string {
	var names []string
	for n := range Functions(baseDir) {
		names = append(names, n)
	}
	return strings.Join(names, ", ")
}
