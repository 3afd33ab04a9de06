package plans

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/llmops/llmops/addrs"
)

func change(addr string, a Action) *ResourceInstanceChange {
	ri, err := addrs.ParseResourceInstance(addr)
	if err != nil {
		panic(err)
	}
	return &ResourceInstanceChange{Addr: ri, Action: a}
}

// Counts and HasChanges summarise a plan as `plan` and
// -detailed-exitcode report it.
func TestCountsAndHasChanges(t *testing.T) {
	cases := []struct {
		name    string
		plan    *Plan
		counts  Counts
		changes bool
	}{
		{"empty", &Plan{Mode: NormalMode}, Counts{}, false},
		{"only no-ops", &Plan{Changes: []*ResourceInstanceChange{change("null_value.a", NoOp), change("null_value.b", NoOp)}}, Counts{}, false},
		{"every action", &Plan{Changes: []*ResourceInstanceChange{
			change("null_value.a", Create), change("null_value.b", Update), change("null_value.c", DeleteThenCreate),
			change("null_value.d", CreateThenDelete), change("null_value.e", Delete), change("null_value.f", Wait), change("null_value.g", NoOp),
		}}, Counts{Add: 1, Change: 1, Replace: 2, Destroy: 1, Wait: 1}, true},
		{"deposed objects are destroys", &Plan{Deposed: []*ResourceInstanceChange{change("null_value.a", Delete), change("null_value.a", Delete)}}, Counts{Destroy: 2}, true},
		{"an output change", &Plan{Outputs: []*OutputChange{{Name: "o", Action: NoOp}, {Name: "p", Action: Update}}}, Counts{}, true},
		{"unchanged outputs", &Plan{Outputs: []*OutputChange{{Name: "o", Action: NoOp}}}, Counts{}, false},
		{"drift in a normal plan is not a change", &Plan{Mode: NormalMode, Drift: []*ResourceInstanceChange{change("null_value.a", Update)}}, Counts{}, false},
		{"drift in a refresh-only plan is", &Plan{Mode: RefreshOnlyMode, Drift: []*ResourceInstanceChange{change("null_value.a", Delete)}}, Counts{}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.plan.Counts(); got != c.counts {
				t.Errorf("Counts() = %+v, want %+v", got, c.counts)
			}
			if got := c.plan.HasChanges(); got != c.changes {
				t.Errorf("HasChanges() = %v, want %v", got, c.changes)
			}
		})
	}
	for a, want := range map[Action]bool{DeleteThenCreate: true, CreateThenDelete: true, Create: false, Delete: false, Update: false, NoOp: false, Wait: false} {
		if a.IsReplace() != want {
			t.Errorf("%s.IsReplace() = %v", a, !want)
		}
	}
}

// Sort orders by address (numbers as numbers), deposed objects by key,
// outputs by name; Change finds an instance's change.
func TestSortAndChange(t *testing.T) {
	d1, d2 := change("null_value.r", Delete), change("null_value.r", Delete)
	d1.DeposedKey, d2.DeposedKey = "b", "a"
	p := &Plan{
		Changes: []*ResourceInstanceChange{change("null_value.r[10]", Create), change("model.base", Create), change("null_value.r[2]", Create), change(`dataset.d["b"]`, Create), change(`dataset.d["a"]`, Create)},
		Drift:   []*ResourceInstanceChange{change("null_value.z", Update), change("null_value.a", Update)},
		Deposed: []*ResourceInstanceChange{d1, change("model.m", Delete), d2},
		Outputs: []*OutputChange{{Name: "z"}, {Name: "a"}},
	}
	p.Sort()
	var got []string
	for _, c := range p.Changes {
		got = append(got, c.Addr.String())
	}
	for _, c := range p.Drift {
		got = append(got, c.Addr.String())
	}
	for _, c := range p.Deposed {
		got = append(got, c.Addr.String()+"/"+c.DeposedKey)
	}
	for _, o := range p.Outputs {
		got = append(got, o.Name)
	}
	want := `dataset.d["a"] dataset.d["b"] model.base null_value.r[2] null_value.r[10] null_value.a null_value.z model.m/ null_value.r/a null_value.r/b a z`
	if strings.Join(got, " ") != want {
		t.Fatalf("sorted:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	ri, _ := addrs.ParseResourceInstance("null_value.r[2]")
	if c := p.Change(ri); c == nil || c.Addr != ri {
		t.Fatalf("Change(%s) = %v", ri, c)
	}
	ri, _ = addrs.ParseResourceInstance("null_value.r[3]")
	if c := p.Change(ri); c != nil {
		t.Fatalf("Change(%s) = %v, want nil", ri, c)
	}
}

// A saved plan is refused when what it was made against changed: the
// state (lineage, serial), the configuration, a provider binary.
func TestStaleChecks(t *testing.T) {
	p := &Plan{Lineage: "L1", PrevSerial: 4, ConfigDigest: "sha256:c1", ProviderHashes: map[string]string{"null": "sha256:n", "local": "sha256:l"}}
	hashes := func(m map[string]string) func(string) (string, error) {
		return func(typ string) (string, error) {
			if h, ok := m[typ]; ok {
				return h, nil
			}
			return "", fmt.Errorf("provider %s not found", typ)
		}
	}
	cases := []struct {
		name string
		err  error
		want string // "" when accepted
	}{
		{"same state", p.CheckState("L1", 4), ""},
		{"state moved on", p.CheckState("L1", 5), "Saved plan is stale: The state has changed since the plan was made (serial 4 then, 5 now)"},
		{"another state", p.CheckState("L2", 4), "Saved plan is for a different state: The plan was made against state lineage L1, but this state is L2"},
		{"no lineage in the plan", (&Plan{PrevSerial: 4}).CheckState("L9", 4), ""},
		{"same configuration", p.CheckConfig("sha256:c1"), ""},
		{"configuration edited", p.CheckConfig("sha256:c2"), "the configuration changed: The *.llmops.hcl files differ from when the plan was made (digest sha256:c1 then, sha256:c2 now)"},
		{"same providers", p.CheckProviders(hashes(map[string]string{"null": "sha256:n", "local": "sha256:l", "extra": "x"})), ""},
		{"a provider rebuilt", p.CheckProviders(hashes(map[string]string{"null": "sha256:N", "local": "sha256:L"})), "a provider changed: The binary of provider local differs"},
		{"a provider gone", p.CheckProviders(hashes(map[string]string{"local": "sha256:l"})), "provider null differs from when the plan was made (sha256:n then, unknown (provider null not found) now)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.want == "" {
				if c.err != nil {
					t.Fatalf("refused: %v", c.err)
				}
				return
			}
			var se *StaleError
			if !errors.As(c.err, &se) || !strings.Contains(c.err.Error(), c.want) {
				t.Fatalf("got %v, want a StaleError with %q", c.err, c.want)
			}
		})
	}
}
