package schema

import (
	"fmt"
	"math"
	"net/url"
	"sort"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk/protocol"
	"github.com/llmops/llmops/plugins/sdk/traffic"
)

// Validate runs the core checks of a kind on a configuration value (an
// object of the kind's implied type, possibly extended by a provider).
// Unknown values pass. A name that is not a kind gives no diagnostics.
func Validate(kind string, config cty.Value) protocol.Diagnostics {
	var d protocol.Diagnostics
	if config == cty.NilVal || config.IsNull() || !config.IsKnown() || !config.Type().IsObjectType() {
		return nil
	}
	a := func(name string) (cty.Value, cty.Path) { return getAttr(config, name), cty.GetAttrPath(name) }
	// A job's or a replica's env, wherever the kind has one.
	d = append(d, ValidateEnv(getAttr(config, "env"), cty.GetAttrPath("env"))...)
	for _, nested := range []string{"transform", "serve"} {
		if b := getAttr(config, nested); b != cty.NilVal && !b.IsNull() && b.IsKnown() && b.Type().IsObjectType() {
			d = append(d, ValidateEnv(getAttr(b, "env"), cty.GetAttrPath(nested).GetAttr("env"))...)
		}
	}
	switch kind {
	case Model:
		v, p := a("source")
		d = append(d, ValidateSource(v, p)...)
	case Dataset:
		v, p := a("source")
		d = append(d, ValidateSource(v, p)...)
		v, p = a("split")
		d = append(d, ValidateSplit(v, p)...)
		v, p = a("seed")
		d = append(d, ValidateInteger(v, p, 0, math.MaxInt64)...)
		v, p = a("format")
		d = append(d, ValidateNonEmpty(v, p)...)
		v, p = a("min_new_rows")
		d = append(d, ValidateInteger(v, p, 0, math.MaxInt64)...)
		// min_rating and min_new_rows apply to a traffic source only; with
		// a file they are ignored, so that a loop's fallback
		// (coalesce(deployment.X.traffic, "file://...")) needs no other
		// configuration while the deployment does not exist.
		if t := getAttr(config, "transform"); t != cty.NilVal && !t.IsNull() && t.IsKnown() {
			d = append(d, ValidateCommand(getAttr(t, "command"), cty.GetAttrPath("transform").GetAttr("command"))...)
		}
	case Prompt:
		d = append(d, validatePrompt(config)...)
	case TrainingRun:
		v, p := a("command")
		d = append(d, ValidateCommand(v, p)...)
		v, p = a("method")
		d = append(d, ValidateNonEmpty(v, p)...)
		v, p = a("resources")
		d = append(d, ValidateResources(v, p)...)
	case Evaluation:
		v, p := a("command")
		d = append(d, ValidateCommand(v, p)...)
		v, p = a("gate")
		d = append(d, ValidateGates(v, p)...)
		v, p = a("resources")
		d = append(d, ValidateResources(v, p)...)
		m, e := getAttr(config, "model"), getAttr(config, "endpoint")
		if m != cty.NilVal && e != cty.NilVal && m.IsKnown() && e.IsKnown() {
			switch {
			case !m.IsNull() && !e.IsNull():
				d.AttrErrorf(cty.GetAttrPath("endpoint"), "Conflicting arguments", "Set model (a model id) or endpoint (a live deployment), not both.")
			case m.IsNull() && e.IsNull():
				d.AttrErrorf(cty.GetAttrPath("model"), "Missing argument", "An evaluation needs a model (a model id such as training_run.ft.output_model) or an endpoint (such as deployment.prod.endpoint).")
			}
		}
		v, p = a("endpoint")
		d = append(d, ValidateURL(v, p)...)
	case EmbeddingIndex:
		v, p := a("command")
		d = append(d, ValidateCommand(v, p)...)
		size, sp := a("chunk_size")
		d = append(d, ValidateInteger(size, sp, 1, 1<<30)...)
		ov, op := a("chunk_overlap")
		d = append(d, ValidateInteger(ov, op, 0, 1<<30)...)
		if known(size) && known(ov) && bigFloat(ov).Cmp(bigFloat(size)) >= 0 {
			d.AttrErrorf(op, "Invalid chunk overlap", "chunk_overlap (%s) must be smaller than chunk_size (%s).", bigFloat(ov).Text('f', -1), bigFloat(size).Text('f', -1))
		}
		v, p = a("resources")
		d = append(d, ValidateResources(v, p)...)
	case Deployment:
		d = append(d, validateDeployment(config)...)
	case Monitor:
		v, p := a("interval")
		d = append(d, ValidateDuration(v, p)...)
		v, p = a("on_breach")
		d = append(d, ValidateOneOf(v, p, "on_breach", "alert", "rollback")...)
		v, p = a("check")
		d = append(d, validateChecks(v, p)...)
		v, p = a("alert")
		d = append(d, validateAlerts(v, p)...)
	}
	return d
}

// validateDeployment is Validate's checks of a deployment: a model with
// its serve block or an upstream API, retrieval, replicas, strategy,
// access, capture and resources.
func validateDeployment(config cty.Value) protocol.Diagnostics {
	var d protocol.Diagnostics
	a := func(name string) (cty.Value, cty.Path) { return getAttr(config, name), cty.GetAttrPath(name) }
	model, up := getAttr(config, "model"), getAttr(config, "upstream")
	switch hasModel, hasUp := model != cty.NilVal && !model.IsNull(), up != cty.NilVal && up.IsKnown() && !up.IsNull(); {
	case hasModel && hasUp:
		d.AttrErrorf(cty.GetAttrPath("upstream"), "Both model and upstream", "A deployment serves either a model (model and serve) or a hosted API (upstream); remove one.")
	case !hasModel && !hasUp && model != cty.NilVal && model.IsKnown():
		d.AttrErrorf(cty.GetAttrPath("model"), "Missing model", "Set model (the model to serve, e.g. training_run.ft.output_model) or an upstream block (a hosted OpenAI-compatible API).")
	case hasUp:
		if s := getAttr(config, "serve"); s != cty.NilVal && s.IsKnown() && !s.IsNull() {
			d.AttrErrorf(cty.GetAttrPath("serve"), "serve with upstream", "An upstream deployment runs no replica: remove the serve block.")
		}
		if u := getAttr(up, "base_url"); known(u) {
			if pu, err := url.Parse(u.AsString()); err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" || pu.RawQuery != "" || pu.User != nil {
				d.AttrErrorf(cty.GetAttrPath("upstream").GetAttr("base_url"), "Invalid base_url", "%q is not an http(s)://host[/path] URL, e.g. https://api.openai.com/v1 (no query, no credentials: the key goes in api_key).", u.AsString())
			}
		}
	}
	d = append(d, validateRetrieval(getAttr(config, "retrieval"))...)
	v, p := a("replicas")
	d = append(d, ValidateInteger(v, p, 1, 10000)...)
	v, p = a("strategy")
	d = append(d, ValidateOneOf(v, p, "strategy", "blue_green", "rolling", "recreate")...)
	if s := getAttr(config, "serve"); s != cty.NilVal && !s.IsNull() && s.IsKnown() {
		sp := cty.GetAttrPath("serve")
		d = append(d, ValidateCommand(getAttr(s, "command"), sp.GetAttr("command"))...)
		d = append(d, ValidateDuration(getAttr(s, "health_timeout"), sp.GetAttr("health_timeout"))...)
		if hp := getAttr(s, "health_path"); known(hp) && !strings.HasPrefix(hp.AsString(), "/") {
			d.AttrErrorf(sp.GetAttr("health_path"), "Invalid health path", "%q must be a URL path starting with /, such as /health.", hp.AsString())
		}
	}
	v, p = a("access")
	d = append(d, validateAccess(v, p)...)
	v, p = a("capture")
	d = append(d, validateCapture(v, p)...)
	v, p = a("resources")
	d = append(d, ValidateResources(v, p)...)
	return d
}

// ValidateSource checks a source is a URL-like string (`scheme://...`) or
// an artifact id (`sha256:<hex>`). Which schemes work is the provider's
// business.
func ValidateSource(v cty.Value, p cty.Path) protocol.Diagnostics {
	var d protocol.Diagnostics
	if !known(v) {
		return nil
	}
	s := v.AsString()
	switch {
	case strings.HasPrefix(s, "sha256:"):
		if !IsArtifactID(s) {
			d.AttrErrorf(p, "Invalid artifact id", "%q is not an artifact id: expected sha256: followed by 64 lower-case hex digits.", s)
		}
	case !strings.Contains(s, "://") || strings.HasPrefix(s, "://"):
		d.AttrErrorf(p, "Invalid source", "%q has no scheme: write file://path (relative to the configuration directory), hf://org/name, or an artifact id such as training_run.ft.output_model.", s)
	}
	return d
}

// IsArtifactID reports whether s is `sha256:` followed by 64 lower-case hex
// digits.
func IsArtifactID(s string) bool {
	const p = "sha256:"
	if len(s) != len(p)+64 || !strings.HasPrefix(s, p) {
		return false
	}
	for _, c := range s[len(p):] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// ValidateSplit checks a dataset split: at least one named fraction, each in
// (0, 1], summing to 1 (within 1e-6).
func ValidateSplit(v cty.Value, p cty.Path) protocol.Diagnostics {
	var d protocol.Diagnostics
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() {
		return nil
	}
	if !v.CanIterateElements() {
		d.AttrErrorf(p, "Invalid split", "split must be a map of fractions, e.g. { train = 0.9, eval = 0.1 }.")
		return d
	}
	if v.LengthInt() == 0 {
		d.AttrErrorf(p, "Invalid split", "split is empty: name at least one part, e.g. { train = 0.9, eval = 0.1 }.")
		return d
	}
	sum, allKnown := 0.0, true
	var parts []string
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		name := k.AsString()
		ep := p.Index(k)
		if !validName(name) {
			d.AttrErrorf(ep, "Invalid split name", "Split name %q must be letters, digits, `_` or `-` (it names a file).", name)
		}
		if !e.IsKnown() {
			allKnown = false
			continue
		}
		if e.IsNull() {
			d.AttrErrorf(ep, "Invalid split fraction", "The fraction of split %q is null.", name)
			allKnown = false
			continue
		}
		f, _ := bigFloat(e).Float64()
		if !(f > 0 && f <= 1) {
			d.AttrErrorf(ep, "Invalid split fraction", "The fraction of split %q is %s; each fraction must be greater than 0 and at most 1.", name, num(f))
		}
		sum += f
		parts = append(parts, fmt.Sprintf("%s = %s", name, num(f)))
	}
	if allKnown && math.Abs(sum-1) > 1e-6 {
		sort.Strings(parts)
		d.AttrErrorf(p, "Invalid split", "The split fractions must sum to 1; %s sum to %s.", strings.Join(parts, ", "), num(math.Round(sum*1e9)/1e9))
	}
	return d
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ValidateGates checks an evaluation's gate blocks: each names a metric and
// has min or max (min not above max).
func ValidateGates(v cty.Value, p cty.Path) protocol.Diagnostics {
	var d protocol.Diagnostics
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() || !v.CanIterateElements() {
		return nil
	}
	for it := v.ElementIterator(); it.Next(); {
		k, g := it.Element()
		gp := p.Index(k)
		if g.IsNull() || !g.IsKnown() {
			continue
		}
		m := getAttr(g, "metric")
		if known(m) && strings.TrimSpace(m.AsString()) == "" {
			d.AttrErrorf(gp.GetAttr("metric"), "Invalid gate", "A gate must name a metric of the evaluation's metrics.json.")
		}
		mn, mx, gap := getAttr(g, "min"), getAttr(g, "max"), getAttr(g, "max_gap")
		name := "this metric"
		if known(m) {
			name = fmt.Sprintf("%q", m.AsString())
		}
		hasGap := gap != cty.NilVal && gap.IsKnown() && !gap.IsNull()
		switch {
		case hasGap && (known(mn) || known(mx)):
			d.AttrErrorf(gp.GetAttr("max_gap"), "Invalid gate", "The gate on %s sets max_gap with min or max: max_gap bounds the spread of the metric's slices (METRIC.SLICE), min and max the metric itself. Write them as two gate blocks.", name)
		case hasGap && bigFloat(gap).Sign() < 0:
			d.AttrErrorf(gp.GetAttr("max_gap"), "Invalid gate", "max_gap must not be negative.")
		case !hasGap && mn.IsKnown() && mx.IsKnown() && mn.IsNull() && mx.IsNull() && (gap == cty.NilVal || gap.IsKnown()):
			d.AttrErrorf(gp, "Invalid gate", "The gate on %s has no bound: set min, max or both (or max_gap for its slices).", name)
		}
		if known(mn) && known(mx) && bigFloat(mn).Cmp(bigFloat(mx)) > 0 {
			d.AttrErrorf(gp.GetAttr("min"), "Invalid gate", "min (%s) is greater than max (%s): no value can pass.", bigFloat(mn).Text('g', -1), bigFloat(mx).Text('g', -1))
		}
	}
	return d
}

// ValidateDuration checks a duration string (see ParseDuration); it must be
// greater than zero.
func ValidateDuration(v cty.Value, p cty.Path) protocol.Diagnostics {
	var d protocol.Diagnostics
	if !known(v) {
		return nil
	}
	dur, err := ParseDuration(v.AsString())
	switch {
	case err != nil:
		d.AttrErrorf(p, "Invalid duration", "%s.", err)
	case dur <= 0:
		d.AttrErrorf(p, "Invalid duration", "%q: the duration must be greater than zero.", v.AsString())
	}
	return d
}

// ValidateCommand checks an argv list: at least one element, the program
// name not empty, no null elements.
func ValidateCommand(v cty.Value, p cty.Path) protocol.Diagnostics {
	var d protocol.Diagnostics
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() || !v.CanIterateElements() {
		return nil
	}
	if v.LengthInt() == 0 {
		d.AttrErrorf(p, "Invalid command", "The command is empty: give an argv list such as [\"python3\", \"train.py\"].")
		return d
	}
	i := 0
	for it := v.ElementIterator(); it.Next(); i++ {
		k, e := it.Element()
		switch {
		case !e.IsKnown():
		case e.IsNull():
			d.AttrErrorf(p.Index(k), "Invalid command", "Element %d of the command is null.", i)
		case i == 0 && strings.TrimSpace(e.AsString()) == "":
			d.AttrErrorf(p.Index(k), "Invalid command", "The program name (the first element) is empty.")
		case strings.IndexByte(e.AsString(), 0) >= 0:
			d.AttrErrorf(p.Index(k), "Invalid command", "Element %d of the command contains a NUL byte, which no program can receive as an argument. Remove it.", i)
		}
	}
	return d
}

// ValidateEnv checks an environment map can be given to a process: each
// name is non-empty, without "=" or NUL, and each value without NUL (an
// operating system cannot pass one). The values are never quoted in the
// message: they may be secrets.
func ValidateEnv(v cty.Value, p cty.Path) protocol.Diagnostics {
	var d protocol.Diagnostics
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() || !v.CanIterateElements() {
		return nil
	}
	v, _ = v.UnmarkDeep()
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if !k.IsKnown() || k.IsNull() || k.Type() != cty.String {
			continue
		}
		name := k.AsString()
		switch {
		case name == "" || strings.ContainsAny(name, "=\x00"):
			d.AttrErrorf(p.Index(k), "Invalid env", "%q is not an environment variable name: a name is not empty and holds no \"=\" and no NUL byte.", strings.ReplaceAll(name, "\x00", `\0`))
		case e.IsKnown() && !e.IsNull() && e.Type() == cty.String && strings.IndexByte(e.AsString(), 0) >= 0:
			d.AttrErrorf(p.Index(k), "Invalid env", "The value of %s contains a NUL byte, which no process can receive in its environment. Remove it (for binary data, encode it, e.g. with base64encode).", name)
		}
	}
	return d
}

// ValidateNonEmpty checks a string, when set, is not empty or blank.
func ValidateNonEmpty(v cty.Value, p cty.Path) protocol.Diagnostics {
	var d protocol.Diagnostics
	if known(v) && strings.TrimSpace(v.AsString()) == "" {
		d.AttrErrorf(p, "Invalid value", "%s must not be empty.", protocol.PathString(p))
	}
	return d
}

// ValidateOneOf checks a string, when set, is one of the allowed values.
func ValidateOneOf(v cty.Value, p cty.Path, what string, allowed ...string) protocol.Diagnostics {
	var d protocol.Diagnostics
	if !known(v) {
		return nil
	}
	for _, a := range allowed {
		if v.AsString() == a {
			return nil
		}
	}
	d.AttrErrorf(p, "Invalid "+what, "%q is not a valid %s; use one of: %s.", v.AsString(), what, strings.Join(allowed, ", "))
	return d
}

// CheckMethod is for providers that restrict training methods: it refuses
// a method outside supported, listing the supported ones.
func CheckMethod(provider, method string, supported []string, p cty.Path) protocol.Diagnostics {
	var d protocol.Diagnostics
	for _, s := range supported {
		if s == method {
			return nil
		}
	}
	d.AttrErrorf(p, "Unsupported training method", "The %s provider does not support method %q; it supports: %s.", provider, method, strings.Join(supported, ", "))
	return d
}

// ValidateInteger checks a number, when set, is a whole number in [min, max].
func ValidateInteger(v cty.Value, p cty.Path, min, max int64) protocol.Diagnostics {
	var d protocol.Diagnostics
	if !known(v) {
		return nil
	}
	f := bigFloat(v)
	if !f.IsInt() {
		d.AttrErrorf(p, "Invalid number", "%s must be a whole number, got %s.", protocol.PathString(p), f.Text('g', -1))
		return d
	}
	i, _ := f.Int64()
	if f.Cmp(bigFloatOf(min)) < 0 || f.Cmp(bigFloatOf(max)) > 0 {
		if max == math.MaxInt64 {
			d.AttrErrorf(p, "Invalid number", "%s must be at least %d, got %d.", protocol.PathString(p), min, i)
		} else {
			d.AttrErrorf(p, "Invalid number", "%s must be between %d and %d, got %s.", protocol.PathString(p), min, max, f.Text('g', -1))
		}
	}
	return d
}

// ValidateURL checks an http(s) URL, when set.
func ValidateURL(v cty.Value, p cty.Path) protocol.Diagnostics {
	var d protocol.Diagnostics
	if !known(v) {
		return nil
	}
	u, err := url.Parse(v.AsString())
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		d.AttrErrorf(p, "Invalid URL", "%q is not an http(s) URL.", v.AsString())
	}
	return d
}

// ValidateResources checks a `resources` block.
func ValidateResources(v cty.Value, p cty.Path) protocol.Diagnostics {
	var d protocol.Diagnostics
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() {
		return nil
	}
	d = append(d, ValidateInteger(getAttr(v, "gpus"), p.GetAttr("gpus"), 0, 4096)...)
	d = append(d, ValidateInteger(getAttr(v, "cpus"), p.GetAttr("cpus"), 1, 1<<20)...)
	d = append(d, ValidateInteger(getAttr(v, "nodes"), p.GetAttr("nodes"), 1, 1<<20)...)
	if m := getAttr(v, "memory_gb"); known(m) && bigFloat(m).Sign() <= 0 {
		d.AttrErrorf(p.GetAttr("memory_gb"), "Invalid number", "memory_gb must be greater than 0.")
	}
	d = append(d, ValidateDuration(getAttr(v, "max_duration"), p.GetAttr("max_duration"))...)
	d = append(d, ValidateNonEmpty(getAttr(v, "gpu_type"), p.GetAttr("gpu_type"))...)
	return d
}

func validatePrompt(config cty.Value) protocol.Diagnostics {
	var d protocol.Diagnostics
	t, f := getAttr(config, "template"), getAttr(config, "template_file")
	if t.IsKnown() && f.IsKnown() {
		switch {
		case !t.IsNull() && !f.IsNull():
			d.AttrErrorf(cty.GetAttrPath("template_file"), "Conflicting arguments", "Set template (the text) or template_file (a file), not both.")
		case t.IsNull() && f.IsNull():
			d.AttrErrorf(cty.GetAttrPath("template"), "Missing argument", "A prompt needs template (the text) or template_file (a file holding it).")
		}
	}
	if known(t) {
		d = append(d, CheckPromptVariables(t.AsString(), getAttr(config, "variables"), cty.GetAttrPath("template"))...)
	}
	return d
}

// CheckPromptVariables compares a template's placeholders with the
// declared variables (when known and set): an undeclared placeholder is an
// error on the template's attribute, an unused declared variable a warning
// on `variables`.
func CheckPromptVariables(template string, variables cty.Value, templatePath cty.Path) protocol.Diagnostics {
	var d protocol.Diagnostics
	if !known(variables) {
		return nil
	}
	var declared []string
	for it := variables.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if !e.IsNull() {
			declared = append(declared, e.AsString())
		}
	}
	undeclared, unused := CompareVariables(declared, Placeholders(template))
	if len(undeclared) > 0 {
		d.AttrErrorf(templatePath, "Undeclared prompt variables", "The template uses %s, which %s not declared in variables (declared: %s). Add %s to variables or remove the placeholder.",
			placeholders(undeclared), plural(len(undeclared), "is", "are"), list(declared), plural(len(undeclared), "it", "them"))
	}
	if len(unused) > 0 {
		d = append(d, protocol.Diagnostic{Severity: protocol.Warning, Summary: "Unused prompt variables", Attribute: cty.GetAttrPath("variables"),
			Detail: fmt.Sprintf("variables declares %s, which the template never uses. A template uses a variable with the placeholder {{name}} (spaces inside the braces allowed); check for one written another way, such as {name} or ${name}.", list(unused))})
	}
	return d
}

// validateAccess checks a deployment's access block: keys (or their
// hashes), or public = true, the only way to serve without keys.
func validateAccess(v cty.Value, p cty.Path) protocol.Diagnostics {
	var d protocol.Diagnostics
	if v == cty.NilVal || !v.IsKnown() {
		return nil
	}
	if v.IsNull() {
		d.AttrErrorf(p, "Missing access block", "A deployment must say who may call it: access { api_keys = [var.api_key] }, or access { public = true } to serve without keys.")
		return d
	}
	if r := getAttr(v, "requests_per_minute"); known(r) && bigFloat(r).Sign() <= 0 {
		d.AttrErrorf(p.GetAttr("requests_per_minute"), "Invalid rate limit", "requests_per_minute must be greater than 0.")
	}
	keys, hashes, pub := getAttr(v, "api_keys"), getAttr(v, "api_key_hashes"), getAttr(v, "public")
	if !keys.IsKnown() || !hashes.IsKnown() || !pub.IsKnown() {
		return d
	}
	hasKeys := !keys.IsNull() && keys.LengthInt() > 0
	hasHashes := hashes != cty.NilVal && !hashes.IsNull() && hashes.LengthInt() > 0
	isPublic := !pub.IsNull() && pub.True()
	switch {
	case isPublic && (hasKeys || hasHashes):
		d.AttrErrorf(p.GetAttr("public"), "Conflicting arguments", "A public deployment takes no api_keys; remove one of them.")
	case hasKeys && hasHashes:
		d.AttrErrorf(p.GetAttr("api_key_hashes"), "Conflicting arguments", "Set api_keys (the keys) or api_key_hashes (their salted hashes), not both.")
	case !isPublic && !hasKeys && !hasHashes:
		d.AttrErrorf(p.GetAttr("api_keys"), "No API keys", "This deployment would accept no caller: set api_keys (e.g. [var.api_key]), or public = true to serve without keys.")
	}
	if hasKeys && keys.IsWhollyKnown() {
		for it := keys.ElementIterator(); it.Next(); {
			k, e := it.Element()
			if e.IsNull() || strings.TrimSpace(e.AsString()) == "" {
				d.AttrErrorf(p.GetAttr("api_keys").Index(k), "Invalid API key", "An API key must not be empty.")
			}
		}
	}
	return d
}

// validateCapture checks a deployment's capture block: sample in (0, 1],
// built-in detectors by name, patterns that compile, max_rows a positive
// integer.
func validateCapture(v cty.Value, p cty.Path) protocol.Diagnostics {
	var d protocol.Diagnostics
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() {
		return nil
	}
	if s := getAttr(v, "sample"); known(s) {
		if f, _ := bigFloat(s).Float64(); !(f > 0 && f <= 1) {
			d.AttrErrorf(p.GetAttr("sample"), "Invalid sample", "sample is the fraction of requests kept: greater than 0 and at most 1 (e.g. 0.05); got %s.", num(f))
		}
	}
	if r := getAttr(v, "redact"); known(r) {
		for it := r.ElementIterator(); it.Next(); {
			k, e := it.Element()
			if !known(e) {
				continue
			}
			if err := traffic.CheckDetector(e.AsString()); err != nil {
				d.AttrErrorf(p.GetAttr("redact").Index(k), "Unknown detector", "%v. For anything else, add a regular expression to redact_patterns.", err)
			}
		}
	}
	if r := getAttr(v, "redact_patterns"); known(r) {
		for it := r.ElementIterator(); it.Next(); {
			k, e := it.Element()
			if !known(e) {
				continue
			}
			if err := traffic.CheckPattern(e.AsString()); err != nil {
				d.AttrErrorf(p.GetAttr("redact_patterns").Index(k), "Invalid redact pattern", "%q is not a usable regular expression (RE2 syntax, https://github.com/google/re2/wiki/Syntax): %v.", e.AsString(), err)
			}
		}
	}
	mr, mp := getAttr(v, "max_rows"), p.GetAttr("max_rows")
	d = append(d, ValidateInteger(mr, mp, 1, math.MaxInt64)...)
	return d
}

func validateChecks(v cty.Value, p cty.Path) protocol.Diagnostics {
	var d protocol.Diagnostics
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() || !v.CanIterateElements() {
		return nil
	}
	for it := v.ElementIterator(); it.Next(); {
		k, c := it.Element()
		if c.IsNull() || !c.IsKnown() {
			continue
		}
		mn, mx := getAttr(c, "min"), getAttr(c, "max")
		if mn.IsKnown() && mx.IsKnown() && mn.IsNull() && mx.IsNull() {
			d.AttrErrorf(p.Index(k), "Invalid check", "The check %q has no bound: set min, max or both.", k.AsString())
		}
	}
	return d
}

func validateAlerts(v cty.Value, p cty.Path) protocol.Diagnostics {
	var d protocol.Diagnostics
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() || !v.CanIterateElements() {
		return nil
	}
	for it := v.ElementIterator(); it.Next(); {
		k, a := it.Element()
		if a.IsNull() || !a.IsKnown() {
			continue
		}
		w, c := getAttr(a, "webhook"), getAttr(a, "command")
		if w.IsKnown() && c.IsKnown() && w.IsNull() && c.IsNull() {
			d.AttrErrorf(p.Index(k), "Invalid alert", "An alert needs a webhook (an http(s) URL) or a command.")
		}
		d = append(d, ValidateURL(w, p.Index(k).GetAttr("webhook"))...)
		d = append(d, ValidateCommand(c, p.Index(k).GetAttr("command"))...)
	}
	return d
}

func placeholders(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "{{" + n + "}}"
	}
	return strings.Join(q, ", ")
}

func list(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// RetrievalPlaceholders are the placeholders a retrieval template must
// have: the retrieved chunks and the caller's question.
var RetrievalPlaceholders = []string{"context", "question"}

// validateRetrieval checks a deployment's retrieval block: an index id,
// top_k, min_score and, when the template is the text itself, its
// placeholders (a prompt id's text is checked by the provider).
func validateRetrieval(v cty.Value) protocol.Diagnostics {
	var d protocol.Diagnostics
	if v == cty.NilVal || !v.IsKnown() || v.IsNull() {
		return nil
	}
	p := cty.GetAttrPath("retrieval")
	if ix := getAttr(v, "index"); known(ix) && !IsArtifactID(ix.AsString()) {
		d.AttrErrorf(p.GetAttr("index"), "Invalid index", "%q is not an index id: retrieval searches an embedding_index of the artifact store, e.g. index = embedding_index.docs.id.", ix.AsString())
	}
	d = append(d, ValidateInteger(getAttr(v, "top_k"), p.GetAttr("top_k"), 1, 100)...)
	if ms := getAttr(v, "min_score"); known(ms) {
		if f, _ := bigFloat(ms).Float64(); f < -1 || f > 1 {
			d.AttrErrorf(p.GetAttr("min_score"), "Invalid min_score", "min_score is a cosine similarity, between -1 and 1; got %v.", f)
		}
	}
	if t := getAttr(v, "template"); known(t) && !IsArtifactID(t.AsString()) {
		if err := CheckRetrievalTemplate(t.AsString()); err != nil {
			d.AttrErrorf(p.GetAttr("template"), "Invalid retrieval template", "%v.", err)
		}
	}
	return d
}

// CheckRetrievalTemplate reports what is wrong with a retrieval template:
// it must have the {{context}} and {{question}} placeholders and no
// other (nothing would fill it).
func CheckRetrievalTemplate(text string) error {
	other, missing := CompareVariables(RetrievalPlaceholders, Placeholders(text))
	switch {
	case len(missing) > 0:
		return fmt.Errorf("the template has no %s placeholder: retrieval puts the retrieved chunks in {{context}} and the caller's question in {{question}}", placeholders(missing))
	case len(other) > 0:
		return fmt.Errorf("the template uses %s, which retrieval does not fill: it fills {{context}} (the retrieved chunks) and {{question}} (the caller's question) only", placeholders(other))
	}
	return nil
}
