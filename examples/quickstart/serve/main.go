// Command serve serves a tinylm model over an OpenAI-compatible HTTP API:
//
//	serve -model DIR [-port 8000] [-host 127.0.0.1] [-name NAME] [-api-key KEY] [-extra NAME=DIR ...]
//
// Routes: GET /health, GET /v1/models, GET /v1/models/{id},
// POST /v1/completions and POST /v1/chat/completions (streamed as
// server-sent events with "stream": true), POST /v1/embeddings. Tokens are
// characters. -extra serves another model under another name (repeatable);
// a request's "model" chooses, and an unknown one is 404 model_not_found.
// -model defaults to $LLMOPS_MODEL_PATH, -name to $LLMOPS_MODEL_NAME (or
// "tinylm"), -api-key to $LLMOPS_SERVE_API_KEY (empty: no authentication).
// With -port 0 a free port is chosen; the address is printed on stderr as
// "serve: listening on http://HOST:PORT". SIGINT/SIGTERM shut down gracefully.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/llmops/llmops/examples/quickstart/tinylm"
)

func main() {
	modelDir := flag.String("model", os.Getenv("LLMOPS_MODEL_PATH"), "model directory (config.json + model.bin)")
	port := flag.Int("port", 8000, "TCP port (0 picks a free one)")
	host := flag.String("host", "127.0.0.1", "address to bind")
	name := flag.String("name", envOr("LLMOPS_MODEL_NAME", "tinylm"), "model id reported by the API")
	apiKey := flag.String("api-key", os.Getenv("LLMOPS_SERVE_API_KEY"), "require this bearer token on /v1 routes")
	extra := map[string]string{}
	flag.Func("extra", "serve another model as NAME=DIR (repeatable)", func(v string) error {
		n, dir, ok := strings.Cut(v, "=")
		if !ok || n == "" || dir == "" {
			return fmt.Errorf("want NAME=DIR, got %q", v)
		}
		extra[n] = dir
		return nil
	})
	flag.Parse()
	logger := log.New(os.Stderr, "serve: ", log.LstdFlags)
	if *modelDir == "" {
		fmt.Fprintln(os.Stderr, "serve: error: -model DIR (or LLMOPS_MODEL_PATH) is required")
		os.Exit(2)
	}
	m, err := tinylm.Load(*modelDir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "serve: error: %v\n", err)
		os.Exit(1)
	}
	more := map[string]*tinylm.Model{}
	for n, dir := range extra {
		if more[n], err = tinylm.Load(dir); err != nil {
			fmt.Fprintf(os.Stderr, "serve: error: -extra %s=%s: %v\n", n, dir, err)
			os.Exit(1)
		}
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(*host, strconv.Itoa(*port)))
	if err != nil {
		fmt.Fprintf(os.Stderr, "serve: error: %v\n", err)
		os.Exit(1)
	}
	srv := &http.Server{
		Handler:           newServer(m, *name, more, *apiKey, logger).routes(),
		ReadHeaderTimeout: 10 * time.Second,
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Printf("model %s (%d params) from %s", *name, m.NumParams(), *modelDir)
	fmt.Fprintf(os.Stderr, "serve: listening on http://%s\n", ln.Addr())
	select {
	case err := <-errc:
		fmt.Fprintf(os.Stderr, "serve: error: %v\n", err)
		os.Exit(1)
	case <-ctx.Done():
	}
	logger.Printf("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(os.Stderr, "serve: error: shutdown: %v\n", err)
		os.Exit(1)
	}
	logger.Printf("stopped")
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
