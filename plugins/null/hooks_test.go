package null

import (
	"context"
	"testing"
)

func TestCrashAfter(t *testing.T) {
	t.Setenv(EnvTestCrashAfter, "3")
	h := hooksFromEnv()
	var codes []int
	h.exit = func(code int) { codes = append(codes, code) }
	for i := 1; i <= 5; i++ {
		h.apply(context.Background())
		if want := 0; i < 3 && len(codes) != want {
			t.Fatalf("exited early, at call %d", i)
		}
	}
	if len(codes) != 1 || codes[0] != 3 {
		t.Fatalf("exit codes %v, want one exit(3) at the third apply", codes)
	}
}

func TestHooksOffByDefault(t *testing.T) {
	t.Setenv(EnvTestCrashAfter, "")
	t.Setenv(EnvTestSleep, "")
	h := hooksFromEnv()
	if h.sleep != 0 || h.crashAfter != 0 {
		t.Fatalf("hooks on without environment: %+v", h)
	}
	if r := h.apply(context.Background()); r != nil {
		t.Fatalf("apply hook returned %+v", r)
	}
}
