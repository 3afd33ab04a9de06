package retrieval

import (
	"testing"
)

func TestFill(t *testing.T) {
	hits := []Hit{{ID: 7, Text: " refunds take five days \n"}, {ID: 2, Text: "call {{question}} support"}}
	for _, c := range []struct{ name, tmpl, q, want string }{
		{"both", "C:\n{{context}}\nQ: {{ question }}", "how long?", "C:\n[7] refunds take five days\n\n[2] call {{question}} support\nQ: how long?"},
		{"question not expanded", "{{question}}|{{context}}", "{{context}}", "{{context}}|[7] refunds take five days\n\n[2] call {{question}} support"},
		{"no hits", "[{{context}}] {{question}}", "q", "[] q"},
	} {
		h := hits
		if c.name == "no hits" {
			h = nil
		}
		if got := Fill(c.tmpl, h, c.q); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

func TestSearch(t *testing.T) {
	ix := &Index{Dimensions: 2, ids: []int64{1, 2, 3}, texts: []string{"x", "y", "xy"}}
	for _, v := range [][]float32{{1, 0}, {0, 1}, {1, 1}} {
		normalize(v)
		ix.vecs = append(ix.vecs, v...)
	}
	for _, c := range []struct {
		name string
		q    []float32
		k    int
		min  float64
		want []int64
	}{
		{"best first", []float32{3, 1}, 3, -1, []int64{1, 3, 2}},
		{"top k", []float32{1, 3}, 1, -1, []int64{2}},
		{"min score", []float32{1, 0}, 3, 0.5, []int64{1, 3}},
		{"nothing", []float32{-1, -1}, 3, 0, nil},
	} {
		hits, err := ix.Search(c.q, c.k, c.min)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, h := range hits {
			got = append(got, h.ID)
		}
		if len(got) != len(c.want) {
			t.Fatalf("%s: %v, want %v", c.name, got, c.want)
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Fatalf("%s: %v, want %v", c.name, got, c.want)
			}
		}
	}
	if _, err := ix.Search([]float32{1, 2, 3}, 1, 0); err == nil {
		t.Fatal("a question of other dimensions should be refused")
	}
}

func TestParseVector(t *testing.T) {
	for in, want := range map[string]int{`[1, 2]`: 2, `{"embedding": [1, 2, 3]}`: 3, `{"vector": [1]}`: 1, `nope`: -1, `{"vector": []}`: -1} {
		v, err := parseVector([]byte(in))
		if (want < 0) != (err != nil) || want >= 0 && len(v) != want {
			t.Errorf("%s: %v %v, want %d dimensions", in, v, err, want)
		}
	}
}
