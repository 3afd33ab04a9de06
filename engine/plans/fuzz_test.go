package plans

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
)

// FuzzDecode feeds arbitrary bytes to the plan-file reader: it must refuse
// or read them, never panic. Each input is tried as a whole file and as
// the plan inside a file with a matching digest, so that the decoder
// behind the digest check is fuzzed too.
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
	var env envelope
	if err := json.Unmarshal(seed, &env); err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(env.Plan))
	f.Fuzz(func(t *testing.T, b []byte) {
		Decode(b, nil)
		// The file holds the plan as a JSON value, without the
		// whitespace around it.
		b = bytes.Trim(b, " \t\r\n")
		if !json.Valid(b) {
			return
		}
		// Built by hand: json.Marshal would compact and escape b, and
		// the digest is of the bytes as they are in the file.
		wrapped := fmt.Sprintf(`{"format":%q,"version":%d,"digest":%q,"plan":%s}`, FileFormat, FileVersion, digestOf(b), b)
		if _, err := Decode([]byte(wrapped), nil); err != nil && strings.Contains(err.Error(), "modified after it was written") {
			t.Fatalf("a digest made over the plan's bytes does not match: %v", err)
		}
	})
}
