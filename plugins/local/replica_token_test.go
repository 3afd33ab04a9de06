package local_test

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"
)

// A replica answers its gateway only: called directly on its port (which
// any local user can find), it says 401, except on its health path; the
// deployment's endpoint works, and the token is in the replica's
// environment, not on its command line.
func TestReplicaAnswersItsGatewayOnly(t *testing.T) {
	h, model := deployFixture(t)
	a := h.apply("deployment", cty.NilVal, h.deployment(depCfg{model: model, tag: "tok", keys: []string{depKey}}))
	if a.diags.HasErrors() {
		t.Fatal(diagText(a.diags))
	}
	if c := complete(t, attrStr(a.state, "endpoint"), depKey); c.code != 200 {
		t.Fatalf("through the gateway: %+v", c)
	}
	var rec struct {
		Replicas []struct {
			PID   int
			Port  int
			Token string
		}
	}
	b, err := os.ReadFile(h.store + "/runs/local/deployment/" + attrStr(a.state, "id") + "/deployment.json")
	must(t, err)
	must(t, jsonUnmarshal(b, &rec))
	x := rec.Replicas[0]
	client := &http.Client{Timeout: 5 * time.Second}
	direct := fmt.Sprintf("http://127.0.0.1:%d", x.Port)
	resp, err := client.Post(direct+"/v1/completions", "application/json", strings.NewReader(`{"prompt":"hi"}`))
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("the replica answered a direct call without its token: %d", resp.StatusCode)
	}
	resp, err = client.Get(direct + "/health")
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("the health path needs no token: %d", resp.StatusCode)
	}
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", x.PID))
	must(t, err)
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", x.PID))
	if len(x.Token) != 64 || !strings.Contains(string(env), "LLMOPS_REPLICA_TOKEN="+x.Token) || strings.Contains(string(cmdline), x.Token) {
		t.Errorf("the replica's token (%q) must be in its environment only", x.Token)
	}
}
