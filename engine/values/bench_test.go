package values

import (
	"testing"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

func benchObject() Encoded {
	v := cty.ObjectVal(map[string]cty.Value{
		"id":               cty.StringVal("4a1b2c3d4e5f6a7b"),
		"input":            cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("r12"), "parent": cty.StringVal("r2"), "lr": cty.MustParseNumberVal("0.0002"), "epochs": cty.NumberIntVal(3)}),
		"output":           cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("r12"), "parent": cty.StringVal("r2"), "lr": cty.MustParseNumberVal("0.0002"), "epochs": cty.NumberIntVal(3)}),
		"triggers_replace": cty.NullVal(cty.DynamicPseudoType),
	})
	enc, _ := Encode(v)
	return enc
}

func BenchmarkDecodeState(b *testing.B) {
	enc := benchObject()
	b.Run("llmops", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := Decode(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ctyjson", func(b *testing.B) {
		ty, _ := ctyjson.UnmarshalType(enc.Type)
		for i := 0; i < b.N; i++ {
			v, err := ctyjson.Unmarshal(enc.Value, ty)
			if err != nil {
				b.Fatal(err)
			}
			NormalizeNumbers(v)
		}
	})
}
