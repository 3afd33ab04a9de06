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
		{in: `module.bot["en"].training_run.ft`, want: `module.bot["en"].training_run.ft`},
		{in: `module.a.module.b[2].dataset.d["x"]`, want: `module.a.module.b[2].dataset.d["x"]`},
		{in: "module.a", err: true},
		{in: "module.a[0]", err: true},
		{in: "module[0].a.b", err: true},
		{in: "module.a.b", err: true},
		{in: "data.model.base", want: "data.model.base"},
		{in: `module.m.data.llmops_state.up[0]`, want: `module.m.data.llmops_state.up[0]`},
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
	r3 := Resource{Type: "null_value", Name: "r"}.Instance(IntKey(3))
	ft := Resource{Type: "training_run", Name: "ft"}.Instance(NoKey)
	eu := Resource{Type: "dataset", Name: "d"}.Instance(StringKey("eu"))
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

func TestModulePatterns(t *testing.T) {
	en := mustRI(t, `module.bot["en"].training_run.ft`)
	de := mustRI(t, `module.bot["de"].training_run.ft`)
	root := mustRI(t, "training_run.ft")
	nested := mustRI(t, `module.bot["en"].module.inner.model.m`)
	cfgFT := Resource{Module: mustModule(t, "module.bot"), Type: "training_run", Name: "ft"}
	cases := []struct {
		pat       string
		ri        ResourceInstance
		inst, res bool
	}{
		{"module.bot", en, true, true},
		{"module.bot", de, true, true},
		{"module.bot", root, false, false},
		{"module.bot", nested, true, true},
		{`module.bot["en"]`, en, true, true},
		{`module.bot["en"]`, de, false, false},
		{`module.bot["en"].training_run.ft`, en, true, true},
		{`module.bot["en"].training_run.ft`, de, false, false},
		{"training_run.ft", en, false, false},
		{"module.bot*", de, true, true},
	}
	for _, c := range cases {
		p, err := ParsePattern(c.pat)
		if err != nil {
			t.Fatalf("%q: %v", c.pat, err)
		}
		if got := p.MatchInstance(c.ri); got != c.inst {
			t.Errorf("%q MatchInstance(%s) = %v, want %v", c.pat, c.ri, got, c.inst)
		}
		if got := p.MatchResource(c.ri.Resource); got != c.res {
			t.Errorf("%q MatchResource(%s) = %v, want %v", c.pat, c.ri.Resource, got, c.res)
		}
	}
	// A configuration address (graph node) is matched by any instance of it.
	p, _ := ParsePattern(`module.bot["en"].training_run.ft`)
	if !p.MatchResource(cfgFT) {
		t.Errorf("%s does not select the configuration address %s", p, cfgFT)
	}
}

func TestModuleInstance(t *testing.T) {
	m := RootModuleInstance.Child("a", StringKey("x")).Child("b", NoKey)
	if m.String() != `module.a["x"].module.b` {
		t.Fatalf("got %s", m)
	}
	back, err := ParseModuleInstance(m.String())
	if err != nil || back != m {
		t.Fatalf("parse %s: %v %v", m, back, err)
	}
	if got := m.Module().String(); got != "module.a.module.b" {
		t.Errorf("Module() = %s", got)
	}
	p, last, ok := m.Parent()
	if !ok || p.String() != `module.a["x"]` || last.Name != "b" {
		t.Errorf("Parent() = %s %v %v", p, last, ok)
	}
	if !p.Contains(m) || m.Contains(p) || !RootModuleInstance.Contains(m) {
		t.Error("Contains is wrong")
	}
	if !RootModuleInstance.Less(m) || m.Less(p) {
		t.Error("Less is wrong")
	}
	r := Resource{Module: m, Type: "model", Name: "x"}
	if r.Config().String() != "module.a.module.b.model.x" || r.Local().String() != "model.x" {
		t.Errorf("Config/Local: %s %s", r.Config(), r.Local())
	}
	mp, name, _ := m.Module().Parent()
	if mp.String() != "module.a" || name != "b" {
		t.Errorf("Module.Parent: %s %s", mp, name)
	}
}

func mustRI(t *testing.T, s string) ResourceInstance {
	t.Helper()
	ri, err := ParseResourceInstance(s)
	if err != nil {
		t.Fatal(err)
	}
	return ri
}

func mustModule(t *testing.T, s string) ModuleInstance {
	t.Helper()
	m, err := ParseModuleInstance(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
