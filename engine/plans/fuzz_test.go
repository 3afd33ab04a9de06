package plans

import (
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
)

// FuzzDecode feeds arbitrary bytes to the plan-file reader: it must refuse
// or read them, never panic.
func FuzzDecode(f *testing.F) {
	p := &Plan{Mode: NormalMode, CreatedAt: time.Unix(0, 0).UTC(), Lineage: "l", PrevSerial: 3, Variables: map[string]cty.Value{"x": cty.StringVal("y")}}
	p.Changes = append(p.Changes, &ResourceInstanceChange{
		Addr: addrs.Resource{Type: "null_value", Name: "r"}.Instance(addrs.IntKey(1)), Provider: addrs.ProviderConfig{Type: "null"},
		Action: Update, Before: cty.ObjectVal(map[string]cty.Value{"a": cty.StringVal("b")}),
		After:           cty.ObjectVal(map[string]cty.Value{"a": cty.UnknownVal(cty.String)}),
		RequiresReplace: []cty.Path{cty.GetAttrPath("a")},
	})
	path := f.TempDir() + "/plan"
	if err := WriteFile(path, p, nil); err != nil {
		f.Fatal(err)
	}
	seed, err := readAll(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{"format":"llmops-plan","version":1,"changes":[{"addr":"a.b","provider":"x","before":{"value":"","type":""}}]}`))
	f.Add([]byte("not json"))
	f.Fuzz(func(t *testing.T, b []byte) {
		Decode(b, nil)
	})
}
