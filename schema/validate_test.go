package schema_test

import (
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk/protocol"
	"github.com/llmops/llmops/schema"
)

func TestParseDuration(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"6h", 6 * time.Hour, ""},
		{"30m", 30 * time.Minute, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"500ms", 500 * time.Millisecond, ""},
		{"1d", 24 * time.Hour, ""},
		{"2d12h", 60 * time.Hour, ""},
		{"1.5d", 36 * time.Hour, ""},
		{" 45s ", 45 * time.Second, ""},
		{"", 0, "empty"},
		{"10", 0, "no unit"},
		{"1d10", 0, "no unit"},
		{"soon", 0, "not a duration"},
		{"-5m", 0, "negative"},
		{"1d-5m", 0, "negative"},
		{"d", 0, "not a duration"},
	} {
		got, err := schema.ParseDuration(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseDuration(%q) = %v, %v; want error containing %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func n(f float64) cty.Value { return cty.NumberFloatVal(f) }
func s(v string) cty.Value  { return cty.StringVal(v) }
func obj(m map[string]cty.Value) cty.Value {
	return cty.ObjectVal(m)
}

// fill completes a partial configuration with nulls, in the kind's type.
func fill(t *testing.T, kind string, m map[string]cty.Value) cty.Value {
	t.Helper()
	ty := schema.Block(kind).ImpliedType()
	attrs := map[string]cty.Value{}
	for name, at := range ty.AttributeTypes() {
		if v, ok := m[name]; ok {
			attrs[name] = v
		} else {
			attrs[name] = cty.NullVal(at)
		}
	}
	for name := range m {
		if !ty.HasAttribute(name) {
			t.Fatalf("%s has no attribute %q", kind, name)
		}
	}
	return cty.ObjectVal(attrs)
}

func gates(gs ...cty.Value) cty.Value { return cty.ListVal(gs) }
func gate(metric cty.Value, min, max cty.Value) cty.Value {
	return obj(map[string]cty.Value{"metric": metric, "min": min, "max": max})
}

var nullN = cty.NullVal(cty.Number)

func gapGate(metric, min, gap cty.Value) cty.Value {
	return obj(map[string]cty.Value{"metric": metric, "min": min, "max": nullN, "max_gap": gap})
}

func capture(sample cty.Value, redact, patterns cty.Value, maxRows cty.Value) cty.Value {
	return obj(map[string]cty.Value{"sample": sample, "redact": redact, "redact_patterns": patterns, "max_rows": maxRows})
}

var nullList = cty.NullVal(cty.List(cty.String))

func strs(v ...string) cty.Value {
	var out []cty.Value
	for _, x := range v {
		out = append(out, s(x))
	}
	return cty.ListVal(out)
}

func TestValidate(t *testing.T) {
	cmd := cty.ListVal([]cty.Value{s("python3"), s("train.py")})
	res := func(m map[string]cty.Value) cty.Value {
		full := map[string]cty.Value{"gpus": nullN, "gpu_type": cty.NullVal(cty.String), "memory_gb": nullN, "cpus": nullN, "nodes": nullN, "max_duration": cty.NullVal(cty.String)}
		for k, v := range m {
			full[k] = v
		}
		return obj(full)
	}
	cases := []struct {
		name, kind string
		cfg        map[string]cty.Value
		path       string // "" = valid
		msg        string
	}{
		{"model ok", "model", map[string]cty.Value{"source": s("file://base")}, "", ""},
		{"model hf", "model", map[string]cty.Value{"source": s("hf://org/name")}, "", ""},
		{"model artifact", "model", map[string]cty.Value{"source": s("sha256:" + strings.Repeat("a", 64))}, "", ""},
		{"model bad artifact", "model", map[string]cty.Value{"source": s("sha256:abc")}, "source", "not an artifact id"},
		{"model no scheme", "model", map[string]cty.Value{"source": s("models/base")}, "source", "no scheme"},
		{"model unknown", "model", map[string]cty.Value{"source": cty.UnknownVal(cty.String)}, "", ""},
		{"split ok", "dataset", map[string]cty.Value{"source": s("file://d.jsonl"), "split": cty.MapVal(map[string]cty.Value{"train": n(0.9), "eval": n(0.1)})}, "", ""},
		{"split thirds", "dataset", map[string]cty.Value{"source": s("file://d.jsonl"), "split": cty.MapVal(map[string]cty.Value{"a": n(1.0 / 3), "b": n(1.0 / 3), "c": n(1.0 / 3)})}, "", ""},
		{"split sum", "dataset", map[string]cty.Value{"source": s("file://d.jsonl"), "split": cty.MapVal(map[string]cty.Value{"train": n(0.9), "eval": n(0.2)})}, "split", "sum to 1.1"},
		{"split zero", "dataset", map[string]cty.Value{"source": s("file://d.jsonl"), "split": cty.MapVal(map[string]cty.Value{"train": n(1), "eval": n(0)})}, `split["eval"]`, "greater than 0"},
		{"split negative", "dataset", map[string]cty.Value{"source": s("file://d.jsonl"), "split": cty.MapVal(map[string]cty.Value{"train": n(1.2), "eval": n(-0.2)})}, `split["eval"]`, "greater than 0"},
		{"split bad name", "dataset", map[string]cty.Value{"source": s("file://d.jsonl"), "split": cty.MapVal(map[string]cty.Value{"../x": n(1)})}, `split["../x"]`, "names a file"},
		{"split empty", "dataset", map[string]cty.Value{"source": s("file://d.jsonl"), "split": cty.MapValEmpty(cty.Number)}, "split", "empty"},
		{"split unknown fraction", "dataset", map[string]cty.Value{"source": s("file://d.jsonl"), "split": cty.MapVal(map[string]cty.Value{"train": cty.UnknownVal(cty.Number), "eval": n(0.1)})}, "", ""},
		{"seed fraction", "dataset", map[string]cty.Value{"source": s("file://d.jsonl"), "seed": n(1.5)}, "seed", "whole number"},
		{"transform empty", "dataset", map[string]cty.Value{"source": s("file://d.jsonl"), "transform": obj(map[string]cty.Value{"command": cty.ListValEmpty(cty.String), "env": cty.NullVal(cty.Map(cty.String))})}, "transform.command", "empty"},
		{"prompt ok", "prompt", map[string]cty.Value{"template": s("Hi {{ name }}, about {{topic}}"), "variables": cty.ListVal([]cty.Value{s("name"), s("topic")})}, "", ""},
		{"prompt undeclared", "prompt", map[string]cty.Value{"template": s("Hi {{name}} {{topic}}"), "variables": cty.ListVal([]cty.Value{s("name")})}, "template", "{{topic}}"},
		{"prompt both", "prompt", map[string]cty.Value{"template": s("x"), "template_file": s("p.txt")}, "template_file", "not both"},
		{"prompt neither", "prompt", map[string]cty.Value{}, "template", "needs template"},
		{"train ok", "training_run", map[string]cty.Value{"base_model": s("sha256:x"), "command": cmd, "resources": res(map[string]cty.Value{"gpus": n(1), "max_duration": s("6h")})}, "", ""},
		{"train empty command", "training_run", map[string]cty.Value{"base_model": s("m"), "command": cty.ListValEmpty(cty.String)}, "command", "empty"},
		{"train blank program", "training_run", map[string]cty.Value{"base_model": s("m"), "command": cty.ListVal([]cty.Value{s(" "), s("x")})}, "command[0]", "program name"},
		{"train NUL in env", "training_run", map[string]cty.Value{"base_model": s("m"), "command": cmd, "env": cty.MapVal(map[string]cty.Value{"TOKEN": s("a\x00secret")})}, `env["TOKEN"]`, "value of TOKEN contains a NUL byte"},
		{"train sensitive NUL in env", "training_run", map[string]cty.Value{"base_model": s("m"), "command": cmd, "env": cty.MapVal(map[string]cty.Value{"TOKEN": s("a\x00secret").Mark("sensitive")})}, `env["TOKEN"]`, "NUL byte"},
		{"train bad env name", "training_run", map[string]cty.Value{"base_model": s("m"), "command": cmd, "env": cty.MapVal(map[string]cty.Value{"A=B": s("x")})}, `env["A=B"]`, "not an environment variable name"},
		{"train NUL in command", "training_run", map[string]cty.Value{"base_model": s("m"), "command": cty.ListVal([]cty.Value{s("python3"), s("a\x00b")})}, "command[1]", "NUL byte"},
		{"transform NUL in env", "dataset", map[string]cty.Value{"source": s("file://d.jsonl"), "transform": obj(map[string]cty.Value{"command": cmd, "env": cty.MapVal(map[string]cty.Value{"K": s("\x00")})})}, `transform.env["K"]`, "NUL byte"},
		{"train unknown command element", "training_run", map[string]cty.Value{"base_model": s("m"), "command": cty.ListVal([]cty.Value{cty.UnknownVal(cty.String)})}, "", ""},
		{"train empty method", "training_run", map[string]cty.Value{"base_model": s("m"), "command": cmd, "method": s("")}, "method", "must not be empty"},
		{"train bad duration", "training_run", map[string]cty.Value{"base_model": s("m"), "command": cmd, "resources": res(map[string]cty.Value{"max_duration": s("6 hours")})}, "resources.max_duration", "not a duration"},
		{"train zero duration", "training_run", map[string]cty.Value{"base_model": s("m"), "command": cmd, "resources": res(map[string]cty.Value{"max_duration": s("0s")})}, "resources.max_duration", "greater than zero"},
		{"train fractional gpus", "training_run", map[string]cty.Value{"base_model": s("m"), "command": cmd, "resources": res(map[string]cty.Value{"gpus": n(0.5)})}, "resources.gpus", "whole number"},
		{"train zero nodes", "training_run", map[string]cty.Value{"base_model": s("m"), "command": cmd, "resources": res(map[string]cty.Value{"nodes": n(0)})}, "resources.nodes", "between 1"},
		{"eval ok", "evaluation", map[string]cty.Value{"model": s("m"), "command": cmd, "gate": gates(gate(s("accuracy"), n(0.8), nullN))}, "", ""},
		{"eval gate no bound", "evaluation", map[string]cty.Value{"model": s("m"), "command": cmd, "gate": gates(gate(s("accuracy"), n(0.8), nullN), gate(s("loss"), nullN, nullN))}, "gate[1]", "no bound"},
		{"eval gate no metric", "evaluation", map[string]cty.Value{"model": s("m"), "command": cmd, "gate": gates(gate(s(""), n(0.8), nullN))}, "gate[0].metric", "name a metric"},
		{"eval gate min>max", "evaluation", map[string]cty.Value{"model": s("m"), "command": cmd, "gate": gates(gate(s("a"), n(0.8), n(0.5)))}, "gate[0].min", "greater than max"},
		{"eval gate unknown bound", "evaluation", map[string]cty.Value{"model": s("m"), "command": cmd, "gate": gates(gate(s("a"), cty.UnknownVal(cty.Number), nullN))}, "", ""},
		{"eval gap ok", "evaluation", map[string]cty.Value{"model": s("m"), "command": cmd, "gate": cty.ListVal([]cty.Value{gapGate(s("accuracy_by_group"), nullN, n(0.05))})}, "", ""},
		{"eval gap with min", "evaluation", map[string]cty.Value{"model": s("m"), "command": cmd, "gate": cty.ListVal([]cty.Value{gapGate(s("accuracy_by_group"), n(0.5), n(0.05))})}, "gate[0].max_gap", "two gate blocks"},
		{"eval gap negative", "evaluation", map[string]cty.Value{"model": s("m"), "command": cmd, "gate": cty.ListVal([]cty.Value{gapGate(s("accuracy_by_group"), nullN, n(-1))})}, "gate[0].max_gap", "negative"},
		{"eval gap none", "evaluation", map[string]cty.Value{"model": s("m"), "command": cmd, "gate": cty.ListVal([]cty.Value{gapGate(s("a"), nullN, nullN)})}, "gate[0]", "max_gap for its slices"},
		{"capture ok", "deployment", map[string]cty.Value{"model": s("m"), "access": obj(map[string]cty.Value{"api_keys": cty.NullVal(cty.List(cty.String)), "api_key_hashes": cty.NullVal(cty.List(cty.String)), "public": cty.True, "requests_per_minute": nullN}), "capture": capture(n(0.05), strs("email", "phone", "api_key"), strs(`ACCT-[0-9]{8}`), n(100000))}, "", ""},
		{"capture sample zero", "deployment", map[string]cty.Value{"model": s("m"), "capture": capture(n(0), nullList, nullList, nullN)}, "capture.sample", "greater than 0"},
		{"capture sample above one", "deployment", map[string]cty.Value{"model": s("m"), "capture": capture(n(5), nullList, nullList, nullN)}, "capture.sample", "at most 1"},
		{"capture detector", "deployment", map[string]cty.Value{"model": s("m"), "capture": capture(n(1), strs("email", "ssn"), nullList, nullN)}, "capture.redact[1]", `"ssn" is not a built-in detector`},
		{"capture pattern", "deployment", map[string]cty.Value{"model": s("m"), "capture": capture(n(1), nullList, strs("ok", "ACCT-[0-9"), nullN)}, "capture.redact_patterns[1]", "missing closing ]"},
		{"capture empty pattern", "deployment", map[string]cty.Value{"model": s("m"), "capture": capture(n(1), nullList, strs("x*"), nullN)}, "capture.redact_patterns[0]", "empty string"},
		{"capture max_rows", "deployment", map[string]cty.Value{"model": s("m"), "capture": capture(n(1), nullList, nullList, n(0))}, "capture.max_rows", "at least 1"},
		{"traffic dataset ok", "dataset", map[string]cty.Value{"source": s("traffic://dep-0123456789abcdef"), "min_rating": n(4), "min_new_rows": n(200)}, "", ""},
		{"min_new_rows fraction", "dataset", map[string]cty.Value{"source": s("traffic://dep-0123456789abcdef"), "min_new_rows": n(2.5)}, "min_new_rows", "whole number"},
		{"min_rating and min_new_rows on a file (a loop's fallback)", "dataset", map[string]cty.Value{"source": s("file://d.jsonl"), "min_rating": n(4), "min_new_rows": n(200)}, "", ""},
		{"eval no model", "evaluation", map[string]cty.Value{"command": cmd}, "model", "needs a model"},
		{"eval both", "evaluation", map[string]cty.Value{"model": s("m"), "endpoint": s("http://127.0.0.1:1/v1"), "command": cmd}, "endpoint", "not both"},
		{"eval bad endpoint", "evaluation", map[string]cty.Value{"endpoint": s("127.0.0.1:8000"), "command": cmd}, "endpoint", "not an http"},
		{"index overlap", "embedding_index", map[string]cty.Value{"dataset": s("d"), "command": cmd, "chunk_size": n(100), "chunk_overlap": n(100)}, "chunk_overlap", "smaller than chunk_size"},
		{"index size", "embedding_index", map[string]cty.Value{"dataset": s("d"), "command": cmd, "chunk_size": n(0)}, "chunk_size", "between 1"},
		{"deploy strategy", "deployment", map[string]cty.Value{"model": s("m"), "strategy": s("canary")}, "strategy", "blue_green, rolling, recreate"},
		{"deploy replicas", "deployment", map[string]cty.Value{"model": s("m"), "replicas": n(0)}, "replicas", "between 1"},
		{"deploy public with keys", "deployment", map[string]cty.Value{"model": s("m"), "access": obj(map[string]cty.Value{"api_keys": cty.ListVal([]cty.Value{s("k")}), "public": cty.True, "requests_per_minute": nullN})}, "access.public", "no api_keys"},
		{"deploy no access", "deployment", map[string]cty.Value{"model": s("m")}, "access", "access { public = true }"},
		{"deploy no keys", "deployment", map[string]cty.Value{"model": s("m"), "access": obj(map[string]cty.Value{"api_keys": cty.NullVal(cty.List(cty.String)), "api_key_hashes": cty.NullVal(cty.List(cty.String)), "public": cty.False, "requests_per_minute": nullN})}, "access.api_keys", "public = true"},
		{"deploy keys and hashes", "deployment", map[string]cty.Value{"model": s("m"), "access": obj(map[string]cty.Value{"api_keys": cty.ListVal([]cty.Value{s("k")}), "api_key_hashes": cty.ListVal([]cty.Value{s("h")}), "public": cty.NullVal(cty.Bool), "requests_per_minute": nullN})}, "access.api_key_hashes", "not both"},
		{"deploy empty key", "deployment", map[string]cty.Value{"model": s("m"), "access": obj(map[string]cty.Value{"api_keys": cty.ListVal([]cty.Value{s(" ")}), "api_key_hashes": cty.NullVal(cty.List(cty.String)), "public": cty.NullVal(cty.Bool), "requests_per_minute": nullN})}, "access.api_keys[0]", "empty"},
		{"deploy public ok", "deployment", map[string]cty.Value{"model": s("m"), "access": obj(map[string]cty.Value{"api_keys": cty.NullVal(cty.List(cty.String)), "api_key_hashes": cty.NullVal(cty.List(cty.String)), "public": cty.True, "requests_per_minute": n(60)})}, "", ""},
		{"deploy unknown keys", "deployment", map[string]cty.Value{"model": s("m"), "access": obj(map[string]cty.Value{"api_keys": cty.UnknownVal(cty.List(cty.String)), "api_key_hashes": cty.NullVal(cty.List(cty.String)), "public": cty.NullVal(cty.Bool), "requests_per_minute": nullN})}, "", ""},
		{"deploy health timeout", "deployment", map[string]cty.Value{"model": s("m"), "serve": obj(map[string]cty.Value{"command": cmd, "env": cty.NullVal(cty.Map(cty.String)), "health_path": s("health"), "health_timeout": s("soon")})}, "serve.health_timeout", "not a duration"},
		{"deploy health path", "deployment", map[string]cty.Value{"model": s("m"), "serve": obj(map[string]cty.Value{"command": cmd, "env": cty.NullVal(cty.Map(cty.String)), "health_path": s("health"), "health_timeout": cty.NullVal(cty.String)})}, "serve.health_path", "starting with /"},
		{"retrieval index", "deployment", map[string]cty.Value{"model": s("m"), "retrieval": retrieval(s("docs"), nullN, s("{{context}} {{question}}"), nullN)}, "retrieval.index", "embedding_index.docs.id"},
		{"retrieval top_k", "deployment", map[string]cty.Value{"model": s("m"), "retrieval": retrieval(s(aID), n(0), s("{{context}} {{question}}"), nullN)}, "retrieval.top_k", "between 1"},
		{"retrieval min_score", "deployment", map[string]cty.Value{"model": s("m"), "retrieval": retrieval(s(aID), nullN, s("{{context}} {{question}}"), n(2))}, "retrieval.min_score", "between -1 and 1"},
		{"retrieval no question", "deployment", map[string]cty.Value{"model": s("m"), "retrieval": retrieval(s(aID), nullN, s("Answer from {{context}}"), nullN)}, "retrieval.template", "no {{question}} placeholder"},
		{"retrieval other placeholder", "deployment", map[string]cty.Value{"model": s("m"), "retrieval": retrieval(s(aID), nullN, s("{{ context }} {{question}} {{tone}}"), nullN)}, "retrieval.template", "uses {{tone}}"},
		{"retrieval prompt id", "deployment", map[string]cty.Value{"model": s("m"), "retrieval": retrieval(s(aID), n(4), s(aID), n(0.2)), "access": obj(map[string]cty.Value{"api_keys": cty.NullVal(cty.List(cty.String)), "api_key_hashes": cty.NullVal(cty.List(cty.String)), "public": cty.True, "requests_per_minute": nullN})}, "", ""},
		{"monitor interval", "monitor", map[string]cty.Value{"deployment": s("d"), "interval": s("often")}, "interval", "not a duration"},
		{"monitor on_breach", "monitor", map[string]cty.Value{"deployment": s("d"), "on_breach": s("panic")}, "on_breach", "alert, rollback"},
		{"monitor check", "monitor", map[string]cty.Value{"deployment": s("d"), "check": cty.MapVal(map[string]cty.Value{"p95_latency_ms": obj(map[string]cty.Value{"min": nullN, "max": nullN})})}, `check["p95_latency_ms"]`, "no bound"},
		{"monitor alert", "monitor", map[string]cty.Value{"deployment": s("d"), "alert": cty.ListVal([]cty.Value{obj(map[string]cty.Value{"webhook": s("ftp://x"), "command": cty.NullVal(cty.List(cty.String))})})}, "alert[0].webhook", "not an http"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := schema.Validate(c.kind, fill(t, c.kind, c.cfg))
			if c.path == "" {
				if d.HasErrors() {
					t.Fatalf("unexpected errors: %v", d.Err())
				}
				return
			}
			for _, x := range d {
				if x.Severity == protocol.Error && protocol.PathString(x.Attribute) == c.path && strings.Contains(x.Summary+": "+x.Detail, c.msg) {
					return
				}
			}
			var got []string
			for _, x := range d {
				got = append(got, protocol.PathString(x.Attribute)+": "+x.Summary+": "+x.Detail)
			}
			t.Fatalf("want an error at %s containing %q, got %q", c.path, c.msg, got)
		})
	}
}

func TestValidateWholeUnknown(t *testing.T) {
	for _, k := range schema.Kinds {
		ty := schema.Block(k).ImpliedType()
		if d := schema.Validate(k, cty.UnknownVal(ty)); len(d) > 0 {
			t.Errorf("%s: an unknown configuration must pass: %v", k, d.Err())
		}
	}
}

func TestUnusedPromptVariableIsAWarning(t *testing.T) {
	d := schema.Validate("prompt", fill(t, "prompt", map[string]cty.Value{"template": s("Hi {{name}}"), "variables": cty.ListVal([]cty.Value{s("name"), s("extra")})}))
	if d.HasErrors() || len(d) != 1 || d[0].Severity != protocol.Warning || protocol.PathString(d[0].Attribute) != "variables" || !strings.Contains(d[0].Detail, "extra") {
		t.Fatalf("want one warning on variables naming extra, got %+v", d)
	}
}

func TestCheckMethod(t *testing.T) {
	d := schema.CheckMethod("slurm", "qlora", []string{"full", "lora"}, cty.GetAttrPath("method"))
	if !d.HasErrors() || !strings.Contains(d.Err().Error(), "supports: full, lora") || protocol.PathString(d[0].Attribute) != "method" {
		t.Fatalf("got %v", d)
	}
	if d := schema.CheckMethod("slurm", "lora", []string{"full", "lora"}, nil); d.HasErrors() {
		t.Fatalf("lora refused")
	}
}

// aID is a well-formed artifact id.
const aID = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func retrieval(index, topK, template, minScore cty.Value) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{"index": index, "top_k": topK, "template": template, "min_score": minScore})
}
