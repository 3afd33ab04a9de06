package sdk

import (
	"context"
	"fmt"
	"io"
	"log"

	hclog "github.com/hashicorp/go-hclog"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk/scrub"
)

// SensitivePaths are the attribute paths whose values must never appear
// in clear: attributes the schema marks Sensitive and values llmops marked
// (a sensitive variable used in env, say). An index step with an unknown
// key stands for every element.
type SensitivePaths []cty.Path

// Covers reports whether the value at p is sensitive: p is one of the
// paths, or inside one.
func (ps SensitivePaths) Covers(p cty.Path) bool {
	for _, s := range ps {
		if len(s) <= len(p) && pathPrefixMatches(s, p) {
			return true
		}
	}
	return false
}

func pathPrefixMatches(pattern, p cty.Path) bool {
	for i, step := range pattern {
		switch s := step.(type) {
		case cty.GetAttrStep:
			o, ok := p[i].(cty.GetAttrStep)
			if !ok || o.Name != s.Name {
				return false
			}
		case cty.IndexStep:
			o, ok := p[i].(cty.IndexStep)
			if !ok {
				return false
			}
			if !s.Key.IsKnown() {
				continue
			}
			if !o.Key.IsKnown() || !o.Key.Type().Equals(s.Key.Type()) || !o.Key.RawEquals(s.Key) {
				return false
			}
		}
	}
	return true
}

// known holds every sensitive value this provider process was ever given:
// its log output and the errors it returns are scrubbed with it.
var known scrub.Set

type secretsKey struct{}

// Secrets returns the sensitive values of the call ctx belongs to (from the
// configuration, the planned, prior or current state), as a set a provider
// scrubs text with before it writes it anywhere (a job's log, a file) or
// hands to a process it starts. It is never nil.
func Secrets(ctx context.Context) *scrub.Set {
	if s, ok := ctx.Value(secretsKey{}).(*scrub.Set); ok && s != nil {
		return s
	}
	return scrub.New()
}

func withSecrets(ctx context.Context, s *scrub.Set) context.Context {
	return context.WithValue(ctx, secretsKey{}, s)
}

// collectSecrets gathers the values at the sensitive paths of every value
// given (they share one type), adds them to the process's set and returns
// them as the call's set.
func collectSecrets(paths []cty.Path, vals ...cty.Value) *scrub.Set {
	set := scrub.New()
	for _, v := range vals {
		if v == cty.NilVal {
			continue
		}
		for _, p := range paths {
			walkPath(v, p, func(leaf cty.Value) { set.Add(leafStrings(leaf)...) })
		}
	}
	known.Merge(set)
	return set
}

// walkPath calls f with the value at p in v (every element where p has an
// index step with an unknown key).
func walkPath(v cty.Value, p cty.Path, f func(cty.Value)) {
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() {
		return
	}
	v, _ = v.Unmark()
	if len(p) == 0 {
		f(v)
		return
	}
	switch s := p[0].(type) {
	case cty.GetAttrStep:
		if v.Type().IsObjectType() && v.Type().HasAttribute(s.Name) {
			walkPath(v.GetAttr(s.Name), p[1:], f)
		}
	case cty.IndexStep:
		if !v.CanIterateElements() {
			return
		}
		if !s.Key.IsKnown() {
			for it := v.ElementIterator(); it.Next(); {
				_, e := it.Element()
				walkPath(e, p[1:], f)
			}
			return
		}
		if e, err := (cty.Path{s}).Apply(v); err == nil {
			walkPath(e, p[1:], f)
		}
	}
}

// leafStrings returns the text of every string and number inside v.
func leafStrings(v cty.Value) []string {
	var out []string
	_ = cty.Walk(v, func(_ cty.Path, x cty.Value) (bool, error) {
		x, _ = x.Unmark()
		if x.IsNull() || !x.IsKnown() {
			return true, nil
		}
		switch x.Type() {
		case cty.String:
			out = append(out, x.AsString())
		case cty.Number:
			out = append(out, x.AsBigFloat().Text('f', -1))
		}
		return true, nil
	})
	return out
}

// scrubDiags replaces every known secret in the diagnostics' text.
func scrubDiags(ds Diagnostics) {
	if known.Len() == 0 {
		return
	}
	for i := range ds {
		ds[i].Summary = known.String(ds[i].Summary)
		ds[i].Detail = known.String(ds[i].Detail)
	}
}

// maskingLogger is an hclog.Logger that replaces every known secret in the
// message and the arguments of each line.
type maskingLogger struct {
	hclog.Logger
}

// maskLogger wraps l (unless it is wrapped already).
func maskLogger(l hclog.Logger) hclog.Logger {
	if _, ok := l.(maskingLogger); ok {
		return l
	}
	return maskingLogger{l}
}

func maskArgs(args []any) []any {
	if known.Len() == 0 {
		return args
	}
	out := make([]any, len(args))
	for i, a := range args {
		switch x := a.(type) {
		case nil, bool, int, int64, uint64, float64:
			out[i] = a
		case string:
			out[i] = known.String(x)
		case error:
			out[i] = known.Error(x)
		default:
			s := fmt.Sprint(a)
			if c := known.String(s); c != s {
				out[i] = c
			} else {
				out[i] = a
			}
		}
	}
	return out
}

func (m maskingLogger) Log(level hclog.Level, msg string, args ...any) {
	m.Logger.Log(level, known.String(msg), maskArgs(args)...)
}
func (m maskingLogger) Trace(msg string, args ...any) {
	m.Logger.Trace(known.String(msg), maskArgs(args)...)
}
func (m maskingLogger) Debug(msg string, args ...any) {
	m.Logger.Debug(known.String(msg), maskArgs(args)...)
}
func (m maskingLogger) Info(msg string, args ...any) {
	m.Logger.Info(known.String(msg), maskArgs(args)...)
}
func (m maskingLogger) Warn(msg string, args ...any) {
	m.Logger.Warn(known.String(msg), maskArgs(args)...)
}
func (m maskingLogger) Error(msg string, args ...any) {
	m.Logger.Error(known.String(msg), maskArgs(args)...)
}
func (m maskingLogger) With(args ...any) hclog.Logger {
	return maskingLogger{m.Logger.With(maskArgs(args)...)}
}
func (m maskingLogger) Named(name string) hclog.Logger {
	return maskingLogger{m.Logger.Named(name)}
}
func (m maskingLogger) ResetNamed(name string) hclog.Logger {
	return maskingLogger{m.Logger.ResetNamed(name)}
}
func (m maskingLogger) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	return scrub.NewWriter(m.Logger.StandardWriter(opts), &known)
}
func (m maskingLogger) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(m.StandardWriter(opts), "", 0)
}
