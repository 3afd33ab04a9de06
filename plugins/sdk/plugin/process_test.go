package plugin_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	"github.com/zclconf/go-cty/cty"

	"fmt"
	"github.com/llmops/llmops/plugins/sdk/plugin"
	"github.com/llmops/llmops/plugins/sdk/protocol"
	"slices"
)

func nullValue(input cty.Value) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{
		"input": input, "triggers_replace": cty.NullVal(cty.DynamicPseudoType),
		"output": cty.NullVal(cty.DynamicPseudoType), "id": cty.NullVal(cty.String),
	})
}

func createNull(ctx context.Context, p protocol.Provider) protocol.ApplyResourceChangeResponse {
	cfg := nullValue(cty.StringVal("hi"))
	return p.ApplyResourceChange(ctx, protocol.ApplyResourceChangeRequest{TypeName: "null_value", PlannedState: cfg, Config: cfg})
}

func TestVersionMismatch(t *testing.T) {
	exe, _ := os.Executable()
	_, err := plugin.Start(context.Background(), plugin.StartOptions{Path: exe, Type: "null", Env: []string{envMode + "=v2"}})
	if err == nil {
		t.Fatal("Start succeeded with a protocol 2 provider")
	}
	want := `provider "null" (` + exe + `) speaks plugin protocol 2; this llmops speaks protocol 1. Use a provider release built for protocol 1`
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error:\n got %s\nwant %s", err, want)
	}
}

func TestReattachVersionMismatch(t *testing.T) {
	t.Setenv(plugin.EnvReattach, `{"null":{"Protocol":"grpc","ProtocolVersion":7,"Pid":1,"Test":true,"Addr":{"Network":"unix","String":"/nonexistent"}}}`)
	_, err := plugin.Start(context.Background(), plugin.StartOptions{Type: "null"})
	if err == nil || !strings.Contains(err.Error(), "speaks plugin protocol 7; this llmops speaks protocol 1") {
		t.Fatalf("err = %v", err)
	}
}

func TestCrashMidCall(t *testing.T) {
	p := startSubprocess(t, "null", "null", "LLMOPS_NULL_TEST_CRASH_AFTER=2")
	ctx := context.Background()
	if r := createNull(ctx, p); r.Diagnostics.HasErrors() {
		t.Fatalf("first apply: %v", r.Diagnostics.Err())
	}
	done := make(chan protocol.ApplyResourceChangeResponse, 1)
	go func() { done <- createNull(ctx, p) }()
	var r protocol.ApplyResourceChangeResponse
	select {
	case r = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("apply on a crashing provider hung")
	}
	if !r.Diagnostics.HasErrors() {
		t.Fatal("apply on a crashing provider succeeded")
	}
	if msg := r.Diagnostics.Err().Error(); !strings.Contains(msg, "provider null exited unexpectedly") {
		t.Fatalf("error does not say the provider exited: %s", msg)
	}
	if !p.Exited() || !plugin.Exited(p) {
		t.Error("Exited() = false after the crash")
	}
	// Later calls fail at once, naming the provider, and do not panic.
	start := time.Now()
	pr := p.PlanResourceChange(ctx, protocol.PlanResourceChangeRequest{TypeName: "null_value", Config: nullValue(cty.True), ProposedNewState: nullValue(cty.True)})
	if !pr.Diagnostics.HasErrors() || !strings.Contains(pr.Diagnostics.Err().Error(), "provider null exited unexpectedly") {
		t.Errorf("call after crash: %v", pr.Diagnostics)
	}
	if time.Since(start) > 3*time.Second {
		t.Errorf("call after crash took %s", time.Since(start))
	}
	if sr := p.StopProvider(ctx, protocol.StopProviderRequest{}); sr.Error != "" {
		t.Errorf("stop after crash: %s", sr.Error)
	}
}

func TestStopProviderCancelsSleepingApply(t *testing.T) {
	p := startSubprocess(t, "null", "null", "LLMOPS_NULL_TEST_SLEEP=1m")
	ctx := context.Background()
	if r := p.GetSchema(ctx, protocol.GetSchemaRequest{}); r.Diagnostics.HasErrors() {
		t.Fatal(r.Diagnostics.Err())
	}
	done := make(chan protocol.ApplyResourceChangeResponse, 1)
	start := time.Now()
	go func() { done <- createNull(ctx, p) }()
	// The stop only hits calls in flight, and on a loaded machine the call
	// may not have reached the provider yet: stop until it returns.
	stopped := time.After(10 * time.Second)
stopping:
	for {
		if sr := p.StopProvider(ctx, protocol.StopProviderRequest{}); sr.Error != "" {
			t.Fatalf("stop: %s", sr.Error)
		}
		select {
		case r := <-done:
			if !r.Diagnostics.HasErrors() || !strings.Contains(r.Diagnostics.Err().Error(), "interrupted") {
				t.Fatalf("want an interrupted error, got %v", r.Diagnostics)
			}
			if !r.NewState.IsNull() {
				t.Errorf("an interrupted create should leave no object, got %#v", r.NewState)
			}
			break stopping
		case <-time.After(100 * time.Millisecond):
		case <-stopped:
			t.Fatal("StopProvider did not interrupt the sleeping apply")
		}
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s", d)
	}
	if p.Exited() {
		t.Error("the provider should survive a stop")
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestProviderLogsReachHost(t *testing.T) {
	var buf syncBuffer
	exe, _ := os.Executable()
	p, err := plugin.Start(context.Background(), plugin.StartOptions{
		Path: exe, Type: "null", Env: []string{envMode + "=null"},
		Logger: hclog.New(&hclog.LoggerOptions{Name: "llmops", Level: hclog.Info, Output: &buf}),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	cfg := cty.ObjectVal(map[string]cty.Value{"duration": cty.StringVal("1s"), "fail": cty.NullVal(cty.Bool), "cancel_duration": cty.NullVal(cty.String),
		"id": cty.NullVal(cty.String), "started_at": cty.NullVal(cty.String), "finished_at": cty.NullVal(cty.String)})
	r := p.ApplyResourceChange(context.Background(), protocol.ApplyResourceChangeRequest{TypeName: "null_job", PlannedState: cfg, Config: cfg})
	if r.Diagnostics.HasErrors() || r.Pending == nil {
		t.Fatalf("create job: %v %+v", r.Diagnostics, r.Pending)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(buf.String(), "job submitted") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	out := buf.String()
	if !strings.Contains(out, "job submitted") || !strings.Contains(out, "llmops.null") || !strings.Contains(out, "resource_type=null_job") {
		t.Fatalf("provider log line not forwarded with the provider's name:\n%s", out)
	}
	if strings.Contains(out, "[DEBUG]") || strings.Contains(out, "[TRACE]") {
		t.Errorf("lines below the host's level were forwarded:\n%s", out)
	}
}

// TestDebugReattach runs a provider in debug mode, as a developer would
// under a debugger, and attaches to it through LLMOPS_REATTACH_PROVIDERS.
func TestDebugReattach(t *testing.T) {
	exe, _ := os.Executable()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), envMode+"=fake", plugin.EnvDebug+"=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		waited := make(chan error, 1)
		go func() { waited <- cmd.Wait() }()
		select {
		case <-waited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("the debug provider did not stop on interrupt")
		}
	}()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var value string
	timeout := time.After(20 * time.Second)
	for value == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the debug provider printed no reattach line")
			}
			if _, v, found := strings.Cut(strings.TrimSpace(l), plugin.EnvReattach+"="); found {
				value = strings.Trim(v, "'")
			}
		case <-timeout:
			t.Fatal("timed out waiting for the reattach line")
		}
	}
	go func() {
		for range lines {
		}
	}()
	if !strings.Contains(value, `"fake":{`) || !strings.Contains(value, `"ProtocolVersion":1`) {
		t.Fatalf("reattach value: %s", value)
	}
	t.Setenv(plugin.EnvReattach, value)
	p, err := plugin.Start(context.Background(), plugin.StartOptions{Type: "fake"})
	if err != nil {
		t.Fatal(err)
	}
	r := p.GetSchema(context.Background(), protocol.GetSchemaRequest{})
	if r.Diagnostics.HasErrors() || r.ProviderVersion != "9.9.9" {
		t.Fatalf("GetSchema over reattach: %+v", r)
	}
	p.Close()
	// Close leaves a debug process running: it belongs to the developer.
	if err := cmd.Process.Signal(syscall0); err != nil {
		t.Errorf("the debug process ended on Close: %v", err)
	}
}

func TestStartEnvOverridesHost(t *testing.T) {
	t.Setenv("LLMOPS_NULL_TEST_CRASH_AFTER", "99")
	p := startSubprocess(t, "null", "null", "LLMOPS_NULL_TEST_CRASH_AFTER=1")
	r := createNull(context.Background(), p)
	if !r.Diagnostics.HasErrors() || !p.Exited() {
		t.Fatalf("StartOptions.Env did not win over the host environment: %v", r.Diagnostics)
	}
}

func TestStartMissingBinary(t *testing.T) {
	_, err := plugin.Start(context.Background(), plugin.StartOptions{Path: "/nonexistent/llmops-provider-x", Type: "x"})
	if err == nil || !strings.Contains(err.Error(), `provider "x"`) {
		t.Fatalf("err = %v", err)
	}
}

// A variable named in Unset does not reach the provider: here the null
// provider's crash switch, set in this process's environment, is not
// inherited, so the provider survives the call it would crash at.
func TestUnsetIsNotInherited(t *testing.T) {
	t.Setenv("LLMOPS_NULL_TEST_CRASH_AFTER", "1")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p, err := plugin.Start(context.Background(), plugin.StartOptions{
		Path: exe, Type: "null", Env: []string{envMode + "=null"}, Unset: []string{"LLMOPS_NULL_TEST_CRASH_AFTER"},
		Logger: hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: testWriter{t}}),
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer p.Close()
	ctx := context.Background()
	for i := range 3 {
		if r := createNull(ctx, p); r.Diagnostics.HasErrors() {
			t.Fatalf("apply %d: %v (the provider inherited the variable)", i+1, r.Diagnostics.Err())
		}
	}
	// And without Unset it is inherited: the same switch crashes it.
	crashing := startSubprocess(t, "null", "null")
	createNull(ctx, crashing)
	if r := createNull(ctx, crashing); !r.Diagnostics.HasErrors() {
		t.Fatal("the provider did not inherit the variable without Unset")
	}
}

// A provider keeps llmops' environment (its credential chains) but never
// gets the state key or the input variables.
func TestProviderEnvironmentHoldsNoLLMOpsSecrets(t *testing.T) {
	t.Setenv("LLMOPS_STATE_KEY", "c3RhdGUta2V5LXRoYXQtb3BlbnMtZXZlcnl0aGluZyE=")
	t.Setenv("LLMOPS_STATE_KEY_FILE", "/secret/state.key")
	t.Setenv("LLMOPS_VAR_api_key", "sk-var-secret")
	t.Setenv("SLURM_JWT", "jwt-the-provider-needs")
	p := startSubprocess(t, "null", "null")
	if p.PID() == 0 {
		t.Fatal("no pid for the provider process")
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", p.PID()))
	if err != nil {
		t.Skipf("cannot read the provider's environment: %v", err)
	}
	env := strings.Split(string(b), "\x00")
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if name == "LLMOPS_STATE_KEY" || name == "LLMOPS_STATE_KEY_FILE" || strings.HasPrefix(name, "LLMOPS_VAR_") {
			t.Errorf("the provider got %s", kv)
		}
	}
	if !slices.Contains(env, "SLURM_JWT=jwt-the-provider-needs") {
		t.Error("the provider lost the rest of the environment (SLURM_JWT)")
	}
}
