package values

import (
	"errors"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// xorSealer is a stand-in for secrets.Key in these tests.
type xorSealer struct{}

func (xorSealer) Seal(p []byte) (string, error) {
	b := make([]byte, len(p))
	for i := range p {
		b[i] = p[i] ^ 0x5a
	}
	return "sealed:test:" + string(b), nil
}
func (xorSealer) Open(s string) ([]byte, error) {
	p := []byte(strings.TrimPrefix(s, "sealed:test:"))
	for i := range p {
		p[i] ^= 0x5a
	}
	return p, nil
}

func TestSealedRoundTrip(t *testing.T) {
	v := cty.ObjectVal(map[string]cty.Value{
		"name": cty.StringVal("public"),
		"key":  cty.StringVal("hunter2-secret").Mark(Sensitive),
		"nested": cty.ObjectVal(map[string]cty.Value{
			"token": cty.NumberIntVal(424242).Mark(Sensitive),
			"none":  cty.NullVal(cty.String).Mark(Sensitive),
		}),
	})
	for _, unknowns := range []bool{false, true} {
		if _, err := EncodeSealed(v, nil, unknowns); !errors.Is(err, ErrNeedsKey) {
			t.Fatalf("without a key: %v", err)
		}
		enc, err := EncodeSealed(v, xorSealer{}, unknowns)
		if err != nil {
			t.Fatal(err)
		}
		all := string(enc.Value) + string(enc.Sensitive)
		if strings.Contains(all, "hunter2") || strings.Contains(string(enc.Value), "424242") {
			t.Fatalf("a secret is stored in clear: %s", all)
		}
		got, err := DecodeSealed(enc, xorSealer{}, unknowns)
		if err != nil {
			t.Fatal(err)
		}
		if !got.RawEquals(MarkPaths(got, nil)) || !Equal(got, v) || !IsSensitive(got.GetAttr("key")) {
			t.Fatalf("round trip: %#v", got)
		}
		blind, err := DecodeSealed(enc, nil, unknowns)
		if !errors.Is(err, ErrSealed) || !blind.GetAttr("key").HasMark(Sensitive) {
			t.Fatalf("without a key: %v %#v", err, blind)
		}
	}
}

type witnessSealer struct {
	Sealer
	seen []cty.Value
}

func (w *witnessSealer) Witness(parts ...cty.Value) { w.seen = append(w.seen, parts...) }

// A Sealer that is a Witness sees every sensitive value it seals and
// opens (the CLI scrubs them from its output).
func TestWitnessSeesSealedAndOpenedValues(t *testing.T) {
	w := &witnessSealer{Sealer: xorSealer{}}
	v := cty.ObjectVal(map[string]cty.Value{"a": cty.StringVal("public"), "k": cty.StringVal("sealed-secret").Mark(Sensitive)})
	enc, err := EncodeSealed(v, w, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.seen) != 1 || w.seen[0].AsString() != "sealed-secret" {
		t.Fatalf("sealing: witnessed %#v", w.seen)
	}
	w.seen = nil
	if _, err := DecodeSealed(enc, w, false); err != nil {
		t.Fatal(err)
	}
	if len(w.seen) != 1 || w.seen[0].AsString() != "sealed-secret" {
		t.Fatalf("opening: witnessed %#v", w.seen)
	}
	w.seen = nil
	val, typ, err := EncodeOutput(cty.StringVal("out-secret"), true, w)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeOutput(val, typ, true, w); err != nil {
		t.Fatal(err)
	}
	if len(w.seen) != 2 || w.seen[0].AsString() != "out-secret" || w.seen[1].AsString() != "out-secret" {
		t.Fatalf("outputs: witnessed %#v", w.seen)
	}
}
