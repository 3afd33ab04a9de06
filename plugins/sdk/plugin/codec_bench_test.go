package plugin

import (
	"testing"

	"github.com/zclconf/go-cty/cty"
	ctymsgpack "github.com/zclconf/go-cty/cty/msgpack"
)

func benchValue() (cty.Value, cty.Type) {
	ty := cty.Object(map[string]cty.Type{"input": cty.DynamicPseudoType, "triggers_replace": cty.DynamicPseudoType, "output": cty.DynamicPseudoType, "id": cty.String})
	in := cty.ObjectVal(map[string]cty.Value{
		"model": cty.StringVal("llama-3-8b"), "epochs": cty.NumberIntVal(3),
		"tags": cty.ListVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")}),
	})
	return cty.ObjectVal(map[string]cty.Value{"input": in, "triggers_replace": cty.StringVal("v1"), "output": in, "id": cty.StringVal("0123456789abcdef")}), ty
}

func BenchmarkCodec(b *testing.B) {
	v, ty := benchValue()
	dv, err := encodeValue(v, ty)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = encodeValue(v, ty)
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = decodeValue(dv, ty)
		}
	})
	b.Run("decode-cty", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = ctymsgpack.Unmarshal(dv.Msgpack, ty)
		}
	})
}
