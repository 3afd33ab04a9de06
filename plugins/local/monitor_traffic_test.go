package local_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk/gateway"
	"github.com/llmops/llmops/plugins/sdk/traffic"
)

// The monitor checks on captured traffic: a gateway with a capture block
// (as a serving provider runs it) captures English questions like the
// training data, some answered empty, with feedback; then French ones:
// drift:language breaches, as do empty_answer_rate and feedback_score.
func TestMonitorTrafficChecks(t *testing.T) {
	t.Parallel()
	h := newHarness(t, t.TempDir())
	var rows []string
	for i := 0; i < 100; i++ {
		b, _ := json.Marshal(map[string]string{"text": fmt.Sprintf("How do I reset the key of my account %d? Please help with the console.", i)})
		rows = append(rows, string(b))
	}
	os.WriteFile(filepath.Join(h.workDir, "train.jsonl"), []byte(strings.Join(rows, "\n")+"\n"), 0o644)
	ds := h.apply("dataset", cty.NilVal, h.fill("dataset", map[string]cty.Value{"source": str("file://train.jsonl")}))
	if ds.diags.HasErrors() {
		t.Fatal(diagText(ds.diags))
	}
	replica := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Prompt string `json:"prompt"`
		}
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &req)
		answer := "use the console"
		if strings.Contains(req.Prompt, "blank") {
			answer = " "
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"choices": []any{map[string]any{"text": answer}}})
	}))
	defer replica.Close()
	hash, _ := gateway.HashKey(depKey)
	const id = "dep-00000000000000bb"
	dir, _ := traffic.Dir(h.store, id)
	srv, err := gateway.NewServer(&gateway.Config{Deployment: id, Revision: 1, Backends: []gateway.Backend{{URL: replica.URL, Revision: 1}}, KeyHashes: []string{hash},
		Capture: &gateway.CaptureConfig{Dir: dir, Sample: 1, Redact: traffic.Detectors}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	gw := httptest.NewServer(srv)
	defer gw.Close()
	if err := gateway.Publish(h.store, gateway.Listing{Deployment: id, Provider: "slurm", Endpoint: gw.URL + "/v1", Revision: 1}); err != nil {
		t.Fatal(err)
	}
	sent := 0
	ask := func(prompt string) string {
		t.Helper()
		req, _ := http.NewRequest("POST", gw.URL+"/v1/completions", strings.NewReader(fmt.Sprintf(`{"prompt":%q}`, prompt)))
		req.Header.Set("Authorization", "Bearer "+depKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("request: %v %v", err, resp)
		}
		resp.Body.Close()
		sent++
		return resp.Header.Get("X-Request-Id")
	}
	feedback := func(id string, rating int) {
		t.Helper()
		req, _ := http.NewRequest("POST", gw.URL+"/v1/feedback", strings.NewReader(fmt.Sprintf(`{"request_id":%q,"rating":%d}`, id, rating)))
		req.Header.Set("Authorization", "Bearer "+depKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("feedback: %v %v", err, resp)
		}
		resp.Body.Close()
		sent++
	}
	// waitCaptured waits until the gateway's writer has every record on disk.
	waitCaptured := func() {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			recs, _ := traffic.ReadRecords(dir, false)
			if len(recs) == sent {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the capture wrote %d of %d records within 10s", len(recs), sent)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for i := 0; i < 30; i++ {
		q := fmt.Sprintf("How do I reset the key of my account %d? Please help with the console.", i)
		if i%10 == 0 {
			q += " blank"
		}
		rid := ask(q)
		if i < 2 {
			feedback(rid, 2+2*i) // ratings 2 and 4: a mean of 3
		}
	}
	waitCaptured()
	cfg := h.fill("monitor", map[string]cty.Value{
		"deployment":       str(id),
		"interval":         str("1s"),
		"training_dataset": str(attrStr(ds.state, "id")),
		"check": checkBlock(map[string][2]*float64{
			"drift:language":     {nil, fp(0.2)},
			"drift:input_length": {nil, fp(5)},
			"empty_answer_rate":  {nil, fp(0.05)},
			"feedback_score":     {fp(3.5), nil},
		}),
	})
	mo := h.apply("monitor", cty.NilVal, cfg)
	if mo.diags.HasErrors() {
		t.Fatal(diagText(mo.diags))
	}
	b := breachesOf(mo.state)
	vals := mo.state.GetAttr("values").AsValueMap()
	if len(b) != 2 || b["empty_answer_rate"] != "max" || b["feedback_score"] != "min" {
		t.Fatalf("English traffic like the training data: breaches %v values %#v", b, vals)
	}
	if v, _ := vals["drift:language"].AsBigFloat().Float64(); v > 0.05 {
		t.Errorf("drift:language %v for traffic in the training data's language", v)
	}
	if v, _ := vals["empty_answer_rate"].AsBigFloat().Float64(); v < 0.09 || v > 0.11 {
		t.Errorf("empty_answer_rate %v, want 0.1 (3 of 30)", v)
	}
	if v, _ := vals["feedback_score"].AsBigFloat().Float64(); v != 3 {
		t.Errorf("feedback_score %v, want 3", v)
	}

	// The traffic's language changes.
	time.Sleep(1100 * time.Millisecond) // the monitor's interval
	for i := 0; i < 30; i++ {
		ask(fmt.Sprintf("Comment est-ce que je peux réinitialiser la clé de mon compte %d ? Merci pour la console.", i))
	}
	waitCaptured()
	rr := h.read("monitor", mo.state)
	if rr.Diagnostics.HasErrors() {
		t.Fatal(diagText(rr.Diagnostics))
	}
	b = breachesOf(rr.NewState)
	vals = rr.NewState.GetAttr("values").AsValueMap()
	if b["drift:language"] != "max" || b["empty_answer_rate"] != "" {
		t.Fatalf("French traffic: breaches %v values %#v", b, vals)
	}
	if _, ok := vals["feedback_score"]; ok {
		t.Errorf("feedback_score measured without feedback in the window: %#v", vals)
	}

	// drift checks need the training dataset.
	bad := h.fill("monitor", map[string]cty.Value{"deployment": str(id), "check": checkBlock(map[string][2]*float64{"drift:language": {nil, fp(0.2)}})})
	if r := h.plan("monitor", cty.NilVal, bad); !strings.Contains(diagText(r.Diagnostics), "set training_dataset") {
		t.Errorf("drift without training_dataset: %s", diagText(r.Diagnostics))
	}
}
