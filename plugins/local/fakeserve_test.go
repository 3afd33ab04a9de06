package local_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/llmops/llmops/plugins/sdk/replicaauth"
)

// fakeServe is a tiny OpenAI-like server, run as a deployment's replica by
// the test binary (LLMOPS_TEST_JOB=serve). LLMOPS_TEST_SERVE_TAG is echoed
// as "model"; LLMOPS_TEST_SERVE_MODE=unhealthy never answers its health
// check; LLMOPS_TEST_SERVE_DELAY delays each completion.
func fakeServe() int {
	port := os.Getenv("LLMOPS_PORT")
	tag := os.Getenv("LLMOPS_TEST_SERVE_TAG")
	delay, _ := time.ParseDuration(os.Getenv("LLMOPS_TEST_SERVE_DELAY"))
	fmt.Println("fake serve: loading", os.Getenv("LLMOPS_MODEL_PATH"))
	unhealthy := os.Getenv("LLMOPS_TEST_SERVE_MODE") == "unhealthy"
	if unhealthy {
		fmt.Fprintln(os.Stderr, "fake serve: CUDA out of memory while loading the weights; retrying forever")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		if unhealthy {
			http.Error(w, "loading", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(`{"status":"ok"}`))
	})
	complete := func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if delay > 0 {
			time.Sleep(delay)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"object": "text_completion", "model": tag, "revision": os.Getenv("LLMOPS_REVISION"),
			"choices": []any{map[string]any{"text": "hello", "index": 0}},
			"usage":   map[string]any{"prompt_tokens": 2, "completion_tokens": 5, "total_tokens": 7},
		})
	}
	mux.HandleFunc("/v1/completions", complete)
	mux.HandleFunc("/v1/chat/completions", complete)
	// Like every serving program llmops ships: only its gateway (which
	// sends the replica token) is served; the health path is open.
	srv := &http.Server{Addr: "127.0.0.1:" + port, Handler: replicaauth.Require(os.Getenv(replicaauth.TokenEnv), []string{"/health"}, mux)}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sigs
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	fmt.Println("fake serve: listening on", srv.Addr)
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
