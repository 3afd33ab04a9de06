package addrs

import "testing"

func TestParseResourceInstance(t *testing.T) {
	cases := []struct {
		in, want string
		err      bool
	}{
		{in: "training_run.ft", want: "training_run.ft"},
		{in: "deployment.prod[0]", want: "deployment.prod[0]"},
		{in: `dataset.d["eu"]`, want: `dataset.d["eu"]`},
		{in: "resource.null_value.r[3]", want: "null_value.r[3]"},
		{in: "null_value", err: true},
		{in: "a.b.c", err: true},
		{in: "a.b[1.5]", err: true},
		{in: "a.b[-1]", err: true},
		{in: "", err: true},
	}
	for _, c := range cases {
		got, err := ParseResourceInstance(c.in)
		if c.err {
			if err == nil {
				t.Errorf("%q: want error, got %s", c.in, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if got.String() != c.want {
			t.Errorf("%q: got %s, want %s", c.in, got, c.want)
		}
	}
}

func TestPattern(t *testing.T) {
	r3 := Resource{"null_value", "r"}.Instance(IntKey(3))
	ft := Resource{"training_run", "ft"}.Instance(NoKey)
	eu := Resource{"dataset", "d"}.Instance(StringKey("eu"))
	cases := []struct {
		pat  string
		ri   ResourceInstance
		want bool
	}{
		{"null_value.r", r3, true},
		{"null_value.r[3]", r3, true},
		{"null_value.r[4]", r3, false},
		{"training_run.*", ft, true},
		{"training_run.*", r3, false},
		{"*.ft", ft, true},
		{"null_value.r[*]", r3, true},
		{`dataset.d["eu"]`, eu, true},
		{`dataset.d["us"]`, eu, false},
	}
	for _, c := range cases {
		p, err := ParsePattern(c.pat)
		if err != nil {
			t.Fatalf("%q: %v", c.pat, err)
		}
		if got := p.MatchInstance(c.ri); got != c.want {
			t.Errorf("%q vs %s: got %v want %v", c.pat, c.ri, got, c.want)
		}
		if c.want && !p.MatchResource(c.ri.Resource) {
			t.Errorf("%q: MatchResource(%s) false for a matching instance", c.pat, c.ri.Resource)
		}
	}
}

func TestImpliedProviderType(t *testing.T) {
	for in, want := range map[string]string{"model": "local", "null_value": "null", "slurm_partition": "slurm", "x": "x"} {
		if got := ImpliedProviderType(in); got != want {
			t.Errorf("%s: got %s want %s", in, got, want)
		}
	}
}
