package plans

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/secrets"
	"github.com/llmops/llmops/engine/values"
)

func inst(typ, name string, key addrs.InstanceKey) addrs.ResourceInstance {
	return addrs.Resource{Type: typ, Name: name}.Instance(key)
}

func testKey(t *testing.T, b byte) *secrets.Key {
	t.Helper()
	k, err := secrets.NewKey(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// fullPlan uses every field a saved plan keeps.
func fullPlan() *Plan {
	gpu := addrs.ProviderConfig{Type: "slurm", Alias: "gpu"}
	local := addrs.ProviderConfig{Type: "local"}
	obj := func(m map[string]cty.Value) cty.Value { return cty.ObjectVal(m) }
	return &Plan{
		Mode: NormalMode, CreatedAt: time.Date(2026, 11, 27, 10, 0, 0, 123, time.UTC),
		Lineage: "0b7e", PrevSerial: 41, ConfigDigest: "sha256:cfg",
		ProviderHashes:     map[string]string{"local": "sha256:l", "slurm": "sha256:s"},
		Variables:          map[string]cty.Value{"epochs": cty.NumberIntVal(3), "tags": cty.ListVal([]cty.Value{cty.StringVal("a")})},
		SensitiveVariables: map[string]string{"api_key": "sha256:k"},
		Targets:            []string{"training_run.*"}, Excludes: []string{"monitor.m"}, Replace: []string{"dataset.d"},
		Changes: []*ResourceInstanceChange{
			{
				Addr: inst("training_run", "ft", addrs.StringKey("hi")), Provider: gpu, Action: DeleteThenCreate, Reason: ReasonRequiresReplace,
				Before: obj(map[string]cty.Value{"id": cty.StringVal("r1"), "lr": cty.NumberFloatVal(0.0002), "dyn": cty.DynamicVal}),
				After: obj(map[string]cty.Value{"id": cty.UnknownVal(cty.String), "lr": cty.NumberFloatVal(0.001),
					"dyn": cty.TupleVal([]cty.Value{cty.StringVal("x"), cty.True})}),
				RequiresReplace: []cty.Path{cty.GetAttrPath("lr"), cty.GetAttrPath("dyn").IndexInt(0)},
				WriteOnlySet:    []cty.Path{cty.GetAttrPath("access").GetAttr("api_keys")},
				Private:         []byte{0, 1, 2, 255},
				Dependencies:    []addrs.Resource{{Type: "dataset", Name: "d"}, {Type: "model", Name: "base"}},
				Placement: &Placement{Strategy: "cheapest", Chosen: "slurm.gpu", MaxHourlyCost: 4, ProjectedCost: 3.5, Hours: 1.75,
					Offer:    &PlacementOffer{GPUType: "a100", GPUCount: 2, PricePerHour: 2, QueueEstimate: 90 * time.Second, Location: "rack2"},
					Rejected: []PlacementRejection{{Candidate: "local", Reason: "no GPU"}}},
				PriorProvider: &local, CreateBeforeDestroy: true,
			},
			{Addr: inst("null_value", "r", addrs.IntKey(2)), Provider: addrs.ProviderConfig{Type: "null"}, Action: Create,
				Before: cty.NullVal(cty.Object(map[string]cty.Type{"input": cty.String})),
				After:  obj(map[string]cty.Value{"input": cty.StringVal("x")})},
			{Addr: inst("training_run", "slow", addrs.NoKey), Provider: local, Action: Wait, PendingStatus: "running", PendingMessage: "epoch 2/3",
				Before: obj(map[string]cty.Value{"status": cty.StringVal("running")}), After: obj(map[string]cty.Value{"status": cty.StringVal("running")})},
		},
		Drift: []*ResourceInstanceChange{{Addr: inst("model", "base", addrs.NoKey), Provider: local, Action: Delete,
			Before: obj(map[string]cty.Value{"id": cty.StringVal("m")}), After: cty.NullVal(cty.Object(map[string]cty.Type{"id": cty.String}))}},
		Deposed: []*ResourceInstanceChange{{Addr: inst("deployment", "prod", addrs.NoKey), Provider: local, Action: Delete, Reason: ReasonDeposed, DeposedKey: "00ab",
			Before: obj(map[string]cty.Value{"id": cty.StringVal("dep1")}), After: cty.NullVal(cty.Object(map[string]cty.Type{"id": cty.String}))}},
		Outputs: []*OutputChange{
			{Name: "endpoint", Action: Update, Before: cty.StringVal("http://a"), After: cty.UnknownVal(cty.String)},
			{Name: "model", Action: Create, Before: cty.NullVal(cty.String), After: cty.StringVal("sha256:m")},
		},
	}
}

// sameValue compares two values exactly: type, unknowns, nulls and where
// they are sensitive.
func sameValue(a, b cty.Value) bool {
	ua, pa := a.UnmarkDeepWithPaths()
	ub, pb := b.UnmarkDeepWithPaths()
	return ua.RawEquals(ub) && len(pa) == len(pb)
}

func checkSame(t *testing.T, want, got *Plan) {
	t.Helper()
	type scalars struct {
		Mode                       Mode
		CreatedAt                  time.Time
		Lineage, ConfigDigest      string
		PrevSerial                 int64
		ProviderHashes, SensVars   map[string]string
		Targets, Excludes, Replace []string
	}
	sw := scalars{want.Mode, want.CreatedAt, want.Lineage, want.ConfigDigest, want.PrevSerial, want.ProviderHashes, want.SensitiveVariables, want.Targets, want.Excludes, want.Replace}
	sg := scalars{got.Mode, got.CreatedAt, got.Lineage, got.ConfigDigest, got.PrevSerial, got.ProviderHashes, got.SensitiveVariables, got.Targets, got.Excludes, got.Replace}
	if !reflect.DeepEqual(sw, sg) {
		t.Fatalf("plan fields:\n got %+v\nwant %+v", sg, sw)
	}
	if len(want.Variables) != len(got.Variables) {
		t.Fatalf("variables: %v", got.Variables)
	}
	for n, v := range want.Variables {
		if !sameValue(v, got.Variables[n]) {
			t.Fatalf("variable %s: got %#v want %#v", n, got.Variables[n], v)
		}
	}
	for _, set := range []struct {
		name      string
		want, got []*ResourceInstanceChange
	}{{"changes", want.Changes, got.Changes}, {"drift", want.Drift, got.Drift}, {"deposed", want.Deposed, got.Deposed}} {
		if len(set.want) != len(set.got) {
			t.Fatalf("%s: %d, want %d", set.name, len(set.got), len(set.want))
		}
		for i, w := range set.want {
			g := set.got[i]
			if !sameValue(w.Before, g.Before) || !sameValue(w.After, g.After) {
				t.Fatalf("%s %s values:\n got %#v -> %#v\nwant %#v -> %#v", set.name, w.Addr, g.Before, g.After, w.Before, w.After)
			}
			wc, gc := *w, *g
			wc.Before, wc.After, gc.Before, gc.After = cty.NilVal, cty.NilVal, cty.NilVal, cty.NilVal
			if len(wc.Private) == 0 && len(gc.Private) == 0 {
				wc.Private, gc.Private = nil, nil
			}
			if !reflect.DeepEqual(wc, gc) {
				t.Fatalf("%s %s:\n got %+v\nwant %+v", set.name, w.Addr, gc, wc)
			}
		}
	}
	if len(want.Outputs) != len(got.Outputs) {
		t.Fatalf("outputs: %d", len(got.Outputs))
	}
	for i, w := range want.Outputs {
		g := got.Outputs[i]
		if w.Name != g.Name || w.Action != g.Action || w.Sensitive != g.Sensitive || !sameValue(w.Before, g.Before) || !sameValue(w.After, g.After) {
			t.Fatalf("output %s: got %+v want %+v", w.Name, g, w)
		}
	}
}

// A saved plan reads back as it was written: every field, unknown and
// dynamic values, sensitive parts (sealed with the key), in sorted order.
func TestPlanFileRoundTrip(t *testing.T) {
	key := testKey(t, 7)
	secret := func(p *Plan) *Plan {
		p.Changes[1].After = cty.ObjectVal(map[string]cty.Value{"input": cty.StringVal("sk-123").Mark(values.Sensitive)})
		p.Outputs = append(p.Outputs, &OutputChange{Name: "api_key", Action: Create, Before: cty.NullVal(cty.String), After: cty.StringVal("sk-123").Mark(values.Sensitive), Sensitive: true})
		return p
	}
	cases := []struct {
		name string
		plan *Plan
		key  values.Sealer
	}{
		{"every field", fullPlan(), nil},
		{"empty destroy plan", &Plan{Mode: DestroyMode, CreatedAt: time.Unix(0, 0).UTC(), Variables: map[string]cty.Value{}}, nil},
		{"refresh-only", &Plan{Mode: RefreshOnlyMode, CreatedAt: time.Unix(5, 0).UTC(), Variables: map[string]cty.Value{}, Drift: fullPlan().Drift}, nil},
		{"sensitive values sealed", secret(fullPlan()), key},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "p.plan")
			if err := WriteFile(path, c.plan, c.key); err != nil {
				t.Fatal(err)
			}
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("plan file mode: %v %v", fi.Mode(), err)
			}
			got, err := ReadFile(path, c.key)
			if err != nil {
				t.Fatal(err)
			}
			if got.Sealed {
				t.Fatal("read with its key, the plan is not sealed")
			}
			c.plan.Sort()
			checkSame(t, c.plan, got)
		})
	}
	// The sealed file holds no secret in clear, and without the key it
	// reads as sealed (shown, never applied). A sensitive output's value
	// is sealed even when it carries no mark.
	path := filepath.Join(t.TempDir(), "p.plan")
	plain := secret(fullPlan())
	plain.Outputs[len(plain.Outputs)-1].After = cty.StringVal("sk-123")
	if err := WriteFile(path, plain, key); err != nil {
		t.Fatal(err)
	}
	if p, err := ReadFile(path, key); err != nil || !values.IsSensitive(p.Outputs[0].After) || p.Outputs[0].Name != "api_key" {
		t.Fatalf("the sensitive output did not come back marked: %v", err)
	}
	raw, _ := os.ReadFile(path)
	if bytes.Contains(raw, []byte("sk-123")) {
		t.Fatal("a sensitive value is in the plan file in clear")
	}
	p, err := ReadFile(path, nil)
	if err != nil || !p.Sealed {
		t.Fatalf("without the key: sealed=%v err=%v", p != nil && p.Sealed, err)
	}
	if _, err := ReadFile(path, testKey(t, 8)); err == nil {
		t.Fatal("a plan read with another key must be refused")
	}
}

// Plans that must not be written are refused, and nothing is left behind.
func TestWriteFileRefuses(t *testing.T) {
	dir := t.TempDir()
	errored := fullPlan()
	errored.Errored = true
	secretNoKey := fullPlan()
	secretNoKey.Changes[0].Before = cty.StringVal("x").Mark(values.Sensitive)
	sensitiveOutput := fullPlan()
	sensitiveOutput.Outputs[1].Sensitive = true
	for _, c := range []struct {
		name string
		plan *Plan
		want string
	}{
		{"incomplete plan", errored, "an incomplete plan cannot be saved"},
		{"sensitive change without a key", secretNoKey, "set LLMOPS_STATE_KEY"},
		{"sensitive output without a key", sensitiveOutput, "set LLMOPS_STATE_KEY"},
	} {
		path := filepath.Join(dir, c.name)
		if err := WriteFile(path, c.plan, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error with %q", c.name, err, c.want)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("%s: a file was written", c.name)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".plan-*")); len(left) > 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	if err := WriteFile(filepath.Join(dir, "missing", "p"), fullPlan(), nil); err == nil {
		t.Fatal("writing into a missing directory must fail")
	}
}

// rewrite decodes a saved plan file, lets edit change its JSON, and
// encodes it again; with reseal the digest is recomputed (a well-formed
// file with bad content), without it the digest is left as written.
func rewrite(t *testing.T, b []byte, reseal bool, edit func(env map[string]any, plan map[string]any)) []byte {
	t.Helper()
	var env map[string]any
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatal(err)
	}
	var plan map[string]any
	raw, _ := json.Marshal(env["plan"])
	json.Unmarshal(raw, &plan)
	edit(env, plan)
	body, _ := json.Marshal(plan)
	env["plan"] = json.RawMessage(body)
	if reseal {
		env["digest"] = digestOf(body)
	}
	out, _ := json.Marshal(env)
	return out
}

func firstChange(plan map[string]any) map[string]any {
	return plan["changes"].([]any)[0].(map[string]any)
}

// A plan file that is not one, another version, edited or damaged after
// it was written, or well-formed with content that does not decode, is
// refused with a message saying what to do; never applied.
func TestDecodeRefuses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.plan")
	if err := WriteFile(path, fullPlan(), nil); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(path)
	if _, err := Decode(good, nil); err != nil {
		t.Fatalf("the file as written: %v", err)
	}
	edited := func(reseal bool, f func(plan map[string]any)) []byte {
		return rewrite(t, good, reseal, func(_ map[string]any, plan map[string]any) { f(plan) })
	}
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"not JSON", []byte("PK\x03\x04"), "not an llmops plan file"},
		{"another format", []byte(`{"format":"terraform-plan","version":2}`), "not an llmops plan file"},
		{"version 1 (before digests)", []byte(`{"format":"llmops-plan","version":1,"changes":[]}`), "format version 1; this llmops reads version 2"},
		{"truncated", good[:len(good)/2], "not an llmops plan file"},
		{"action changed by hand", edited(false, func(p map[string]any) { firstChange(p)["action"] = "no-op" }), "modified after it was written"},
		{"serial changed by hand", edited(false, func(p map[string]any) { p["prev_serial"] = 42 }), "modified after it was written"},
		{"digest removed", rewrite(t, good, false, func(env, _ map[string]any) { delete(env, "digest") }), "modified after it was written"},
		{"control: unchanged body, digest recomputed", rewrite(t, good, true, func(env, _ map[string]any) {}), ""},
		{"bad address", edited(true, func(p map[string]any) { firstChange(p)["addr"] = "not an address!" }), `change of "not an address!": invalid address`},
		{"bad provider", edited(true, func(p map[string]any) { firstChange(p)["provider"] = "a.b.c" }), `training_run.ft[\"hi\"]": provider: invalid provider configuration address "a.b.c"`},
		{"bad prior provider", edited(true, func(p map[string]any) { firstChange(p)["prior_provider"] = "a.b.c" }), "prior provider: invalid provider"},
		{"bad dependency", edited(true, func(p map[string]any) { firstChange(p)["dependencies"] = []any{"??"} }), `dependency: invalid address "??"`},
		{"bad requires_replace", edited(true, func(p map[string]any) { firstChange(p)["requires_replace"] = []any{42} }), "requires_replace: "},
		{"bad value type", edited(true, func(p map[string]any) {
			firstChange(p)["after"].(map[string]any)["type"] = []byte(`"not a type"`)
		}), "value after: invalid value type"},
		{"bad drift value", edited(true, func(p map[string]any) {
			p["drift"].([]any)[0].(map[string]any)["before"].(map[string]any)["value"] = []byte{0xc1}
		}), `change of "model.base": value before: invalid value`},
		{"bad deposed address", edited(true, func(p map[string]any) { p["deposed"].([]any)[0].(map[string]any)["addr"] = "" }), `change of "": invalid address`},
		{"bad output", edited(true, func(p map[string]any) {
			p["outputs"].([]any)[0].(map[string]any)["after"].(map[string]any)["type"] = []byte(`7`)
		}), "output endpoint: invalid value type"},
		{"bad variable", edited(true, func(p map[string]any) {
			p["variables"].(map[string]any)["epochs"].(map[string]any)["type"] = []byte(`{}`)
		}), "variable epochs"},
		{"content of the wrong shape", edited(true, func(p map[string]any) { p["changes"] = "all of them" }), "cannot be read"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(c.b, nil)
			if c.want == "" {
				if err != nil {
					t.Fatalf("an unchanged body with a recomputed digest: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not say %q", err, c.want)
			}
		})
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing"), nil); !os.IsNotExist(err) {
		t.Fatalf("a missing file: %v", err)
	}
}
