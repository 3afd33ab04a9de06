package history

import (
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/values"
	"github.com/llmops/llmops/state"
)

func obj(t *testing.T, typ, name string, serial int64, v cty.Value, deps ...addrs.Resource) *state.Object {
	enc, err := values.Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	return &state.Object{Addr: addrs.Resource{Type: typ, Name: name}.Instance(addrs.NoKey), Provider: addrs.ProviderConfig{Type: "local"},
		Status: state.StatusReady, ValueJSON: enc.Value, TypeJSON: enc.Type, Version: 1, Serial: serial, Dependencies: deps}
}

func vals(kv ...string) cty.Value {
	m := map[string]cty.Value{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = cty.StringVal(kv[i+1])
	}
	return cty.ObjectVal(m)
}

func TestDiffAndLineage(t *testing.T) {
	base := addrs.Resource{Type: "model", Name: "base"}
	data := addrs.Resource{Type: "dataset", Name: "d"}
	run := addrs.Resource{Type: "training_run", Name: "ft"}
	v1 := &state.Snapshot{Serial: 1, Objects: []*state.Object{
		obj(t, "model", "base", 1, vals("id", "sha256:aa", "digest", "sha256:aa")),
		obj(t, "dataset", "d", 1, vals("id", "sha256:d1", "digest", "sha256:d1")),
		obj(t, "training_run", "ft", 1, vals("id", "r1", "output_model", "sha256:m1", "method", "lora"), base, data),
	}}
	v2 := &state.Snapshot{Serial: 2, Objects: []*state.Object{
		v1.Objects[0],
		obj(t, "dataset", "d", 2, vals("id", "sha256:d2", "digest", "sha256:d2")),
		obj(t, "training_run", "ft", 2, vals("id", "r2", "output_model", "sha256:m2", "method", "lora"), base, data),
		obj(t, "deployment", "prod", 2, vals("id", "dep1", "model", "sha256:m2"), run),
	}}
	diffs, err := Diff(v1, v2, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range diffs {
		got = append(got, d.Addr.String()+":"+string(d.Kind))
	}
	if strings.Join(got, " ") != "dataset.d:changed deployment.prod:added training_run.ft:changed" {
		t.Fatalf("diff: %v", got)
	}
	objs, _ := Decode(v2)
	tree := Lineage(objs, addrs.Resource{Type: "deployment", Name: "prod"}.Instance(addrs.NoKey))
	if tree == nil || len(tree.Parents) != 1 || tree.Parents[0].Addr != "training_run.ft" || len(tree.Parents[0].Parents) != 2 {
		t.Fatalf("lineage: %+v", tree)
	}
	if tree.Parents[0].Parents[0].Digest != "sha256:d2" || tree.Parents[0].Parents[1].Digest != "sha256:aa" {
		t.Fatalf("lineage digests: %+v %+v", tree.Parents[0].Parents[0], tree.Parents[0].Parents[1])
	}
	refs := map[string]bool{}
	ArtifactRefs(v2, refs)
	if len(refs) != 0 { // short fake ids are not artifact ids
		t.Fatalf("refs: %v", refs)
	}
	recs := Reproducibility(objs, map[string]ProviderInfo{"local": {Version: "0.1.0"}})
	if len(recs) != 1 || recs[0].Providers["local"].Version != "0.1.0" {
		t.Fatalf("reproducibility: %+v", recs)
	}
}

func TestActivePins(t *testing.T) {
	now := time.Now()
	evs := []state.Event{
		{Time: now, Kind: EventRollbackPin, Addr: "deployment.a", Data: PinData(Pin{ToSerial: 3, FromSerial: 5, ConfigHash: "h"})},
		{Time: now, Kind: EventRollbackPin, Addr: "deployment.b", Data: PinData(Pin{ToSerial: 1})},
		{Time: now, Kind: EventRollbackRelease, Addr: "deployment.b"},
		{Time: now, Kind: "monitor.breach", Addr: "monitor.m"},
	}
	pins := ActivePins(evs)
	a := addrs.Resource{Type: "deployment", Name: "a"}.Instance(addrs.NoKey)
	if len(pins) != 1 || pins[a].ToSerial != 3 || pins[a].FromSerial != 5 || pins[a].ConfigHash != "h" {
		t.Fatalf("pins: %+v", pins)
	}
}
