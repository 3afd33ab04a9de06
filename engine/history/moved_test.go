package history

import (
	"reflect"
	"testing"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/state"
)

func TestMovedFromAndFollowMoves(t *testing.T) {
	evs := []state.Event{
		{Kind: EventMoved, Addr: "training_run.ft[0]", Data: []byte("training_run.ft")},
		{Kind: EventRollbackPin, Addr: "deployment.a"},
		{Kind: EventMoved, Addr: `module.bot["en"].training_run.ft`, Data: []byte("training_run.ft[0]")},
	}
	if got := MovedFrom(evs, `module.bot["en"].training_run.ft`); !reflect.DeepEqual(got, []string{"training_run.ft[0]", "training_run.ft"}) {
		t.Errorf("MovedFrom = %v", got)
	}
	if got := MovedFrom(evs, "model.base"); got != nil {
		t.Errorf("MovedFrom of an object never moved = %v", got)
	}
	loop := []state.Event{{Kind: EventMoved, Addr: "a.b", Data: []byte("a.c")}, {Kind: EventMoved, Addr: "a.c", Data: []byte("a.b")}}
	if got := MovedFrom(loop, "a.b"); !reflect.DeepEqual(got, []string{"a.c"}) {
		t.Errorf("MovedFrom with a loop = %v", got)
	}
	dep := &Object{Object: &state.Object{Dependencies: []addrs.Resource{{Type: "training_run", Name: "ft"}, {Type: "model", Name: "base"}}}}
	objs := map[addrs.ResourceInstance]*Object{{Resource: addrs.Resource{Type: "deployment", Name: "d"}, Key: addrs.NoKey}: dep}
	FollowMoves(objs, evs)
	want := []string{"module.bot.training_run.ft", "model.base"}
	var got []string
	for _, d := range dep.Dependencies {
		got = append(got, d.String())
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("dependencies after FollowMoves = %v, want %v", got, want)
	}
}
