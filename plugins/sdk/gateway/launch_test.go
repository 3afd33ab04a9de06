package gateway

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"testing"
	"time"
)

// The test binary doubles as a provider binary in gateway mode.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == Arg {
		os.Exit(Main(os.Args[2:]))
	}
	if os.Getenv("GATEWAY_TEST_EMBED") == "1" {
		os.Exit(testEmbed())
	}
	os.Exit(m.Run())
}

// Launch starts a detached gateway process that takes a new
// configuration on Reload and stops on Stop: what a provider does with
// it, as the local and slurm providers do.
func TestLaunchReloadStop(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	be, _ := fakeReplica(t, 1)
	h, _ := HashKey(testKey)
	cfg := &Config{Generation: 1, Deployment: "dep-launch", Revision: 1, KeyHashes: []string{h}}
	if err := WriteConfig(dir, cfg); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	p, err := Launch(exe, dir, ln.(*net.TCPListener), os.Environ())
	ln.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(time.Second) })
	client := &http.Client{Timeout: 2 * time.Second}
	ctx := context.Background()
	if err := WaitGeneration(ctx, client, base, 1, p, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if !p.Alive() || p.PStart == 0 {
		t.Fatalf("process %+v", p)
	}
	health := func() (int, map[string]any) {
		resp, err := client.Get(base + "/health")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		json.NewDecoder(resp.Body).Decode(&v)
		return resp.StatusCode, v
	}
	if code, _ := health(); code != http.StatusServiceUnavailable {
		t.Fatalf("/health without backends: %d", code)
	}
	cfg.Generation, cfg.Revision = 2, 2
	cfg.Backends = []Backend{{URL: be.URL, Revision: 2}}
	if err := WriteConfig(dir, cfg); err != nil {
		t.Fatal(err)
	}
	if err := p.Reload(); err != nil {
		t.Fatal(err)
	}
	if err := WaitGeneration(ctx, client, base, 2, p, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if code, v := health(); code != http.StatusOK || v["revision"] != float64(2) {
		t.Fatalf("/health after the reload: %d %v", code, v)
	}
	p.Stop(5 * time.Second)
	if p.Alive() {
		t.Fatal("the gateway survived Stop")
	}
	if err := WaitGeneration(ctx, client, base, 3, p, time.Second); err == nil {
		t.Fatal("WaitGeneration on a stopped gateway succeeded")
	}
	if p.Reload() == nil {
		t.Fatal("Reload of a stopped gateway succeeded")
	}
}
