package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/llmops/llmops/plugins/sdk/gateway"
)

// gatewayBench measures what the deployment gateway (plugins/sdk/gateway,
// as a deployment runs it: API key check, rate limit, reverse proxy,
// metrics) adds to a request on loopback: GET /v1/models sent to a
// replica directly and through the gateway, one request at a time (p50
// and p99 of each, and the difference), then the gateway's throughput with
// 16 concurrent clients. The replica is a minimal Go handler answering
// the models list, so the figures are the gateway's own cost. Everything
// runs in this process on the same cores, like a deployment on one host.
func gatewayBench() {
	const key = "sk-bench-0123456789abcdef"
	models := []byte(`{"object":"list","data":[{"id":"tinylm","object":"model","created":1,"owned_by":"llmops"}]}` + "\n")
	replica := serveOn(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(models)
	}))
	hash, err := gateway.HashKey(key)
	if err != nil {
		fatalf("%v", err)
	}
	cfg := &gateway.Config{Deployment: "dep-bench", Revision: 1, KeyHashes: []string{hash}, RequestsPerMinute: 1e9,
		Backends: []gateway.Backend{{URL: "http://" + replica, Revision: 1, Token: "replica-token"}}}
	srv, err := gateway.NewServer(cfg, nil)
	if err != nil {
		fatalf("%v", err)
	}
	defer srv.Close()
	gw := serveOn(gateway.NewHTTPServer(srv, cfg).Handler)

	direct := latencies("http://"+replica+"/v1/models", "", 5000)
	via := latencies("http://"+gw+"/v1/models", key, 5000)
	d50, d99 := pct(direct, 0.5), pct(direct, 0.99)
	g50, g99 := pct(via, 0.5), pct(via, 0.99)
	directRPS, _, directCPU := throughput("http://"+replica+"/v1/models", "", 16, 3*time.Second)
	if p := os.Getenv("BENCH_GATEWAY_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			fatalf("%v", err)
		}
		_ = pprof.StartCPUProfile(f)
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	rps, failed, cpu := throughput("http://"+gw+"/v1/models", key, 16, 3*time.Second)
	fmt.Println("Gateway (GET /v1/models on loopback, 5000 sequential requests each way, then 16 clients for 3 s):")
	fmt.Printf("  %-34s p50 %8s   p99 %8s\n", "replica directly", ms(d50), ms(d99))
	fmt.Printf("  %-34s p50 %8s   p99 %8s\n", "through the gateway", ms(g50), ms(g99))
	fmt.Printf("  %-34s p50 %8s   p99 %8s   (target: p50 < 0.300 ms)\n", "added by the gateway", ms(g50-d50), ms(g99-d99))
	fmt.Printf("  %-34s %.0f requests/s, %.1f µs CPU each (%.0f requests/s on 2 idle cores)\n", "replica directly, 16 clients", directRPS, us(directCPU), 2e6/us(directCPU))
	fmt.Printf("  %-34s %.0f requests/s, %.1f µs CPU each (%.0f requests/s on 2 idle cores), %d failed   (target: >= 5000 requests/s)\n",
		"through the gateway, 16 clients", rps, us(cpu), 2e6/us(cpu), failed)
	fmt.Println("  (CPU: this process's user+system time per request, client and replica included; the projection divides two cores' time by it, so a loaded machine does not lower it)")
}

// serveOn serves h on a free loopback port and returns host:port.
func serveOn(h http.Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fatalf("%v", err)
	}
	go func() { _ = (&http.Server{Handler: h}).Serve(ln) }()
	return ln.Addr().String()
}

func newClient(conns int) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: conns, DisableCompression: true}}
}

func get(c *http.Client, url, key string) error {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}

// latencies sends n requests one after another (after a warm-up) and
// returns their sorted latencies.
func latencies(url, key string, n int) []time.Duration {
	c := newClient(1)
	for range 200 {
		if err := get(c, url, key); err != nil {
			fatalf("%v", err)
		}
	}
	out := make([]time.Duration, n)
	for i := range out {
		t0 := time.Now()
		if err := get(c, url, key); err != nil {
			fatalf("%v", err)
		}
		out[i] = time.Since(t0)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// throughput runs clients goroutines sending requests for d; it returns
// the rate, the failures and the process's CPU time per request.
func throughput(url, key string, clients int, d time.Duration) (float64, int64, time.Duration) {
	cpu0 := cpuTime()
	c := newClient(clients)
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	stop := start.Add(d)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				if get(c, url, key) != nil {
					failed.Add(1)
				} else {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	n := max(ok.Load(), 1)
	return float64(ok.Load()) / time.Since(start).Seconds(), failed.Load(), (cpuTime() - cpu0) / time.Duration(n)
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }

func pct(sorted []time.Duration, q float64) time.Duration {
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d.Microseconds())/1000) }
