package values

import (
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// FuzzDecodeState feeds arbitrary stored bytes to the state value decoder
// (plain and sealed): it must return an error or a value, never panic.
func FuzzDecodeState(f *testing.F) {
	v := cty.ObjectVal(map[string]cty.Value{
		"s": cty.StringVal("x"), "n": cty.MustParseNumberVal("0.0002"), "k": cty.StringVal("secret").Mark(Sensitive),
		"l": cty.ListVal([]cty.Value{cty.True}), "d": cty.NullVal(cty.DynamicPseudoType),
	})
	plain, _ := Encode(cty.ObjectVal(map[string]cty.Value{"s": cty.StringVal("x"), "n": cty.NumberIntVal(1)}))
	f.Add(plain.Value, plain.Type, plain.Sensitive)
	sealed, _ := EncodeSealed(v, xorSealer{}, false)
	f.Add(sealed.Value, sealed.Type, sealed.Sensitive)
	f.Add([]byte(`{"a":1}`), []byte(`["object",{"a":"number"}]`), []byte(`[["a"]]`))
	f.Add([]byte(`null`), []byte(`"dynamic"`), []byte(`{"paths":[],"sealed":"x"}`))
	f.Fuzz(func(t *testing.T, value, typ, sensitive []byte) {
		e := Encoded{Value: value, Type: typ, Sensitive: sensitive}
		Decode(e)
		DecodeSealed(e, xorSealer{}, false)
		DecodeSealed(e, nil, true)
	})
}
