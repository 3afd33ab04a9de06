package serving

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/llmops/llmops/plugins/sdk/gateway"
	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/plugins/sdk/scrub"
	"github.com/llmops/llmops/plugins/sdk/traffic"
)

var localClient = &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 2}}

// gatewayConfig is the gateway's configuration for the record's routed
// replicas.
func (r *Record[S, R]) gatewayConfig() *gateway.Config {
	c := &gateway.Config{
		Generation: r.Generation, Deployment: r.ID, Revision: r.Revision,
		Public: r.Access.Public, KeyHashes: r.Access.KeyHashes, RequestsPerMinute: r.Access.RequestsPerMinute,
		RequestTimeout: os.Getenv("LLMOPS_GATEWAY_REQUEST_TIMEOUT"),
	}
	for _, x := range r.routed() {
		c.Backends = append(c.Backends, gateway.Backend{URL: x.URL, Revision: x.Revision, Replica: x.Index, Token: x.Token})
	}
	if rs := r.Spec.Retrieval; rs != nil && r.Revision > 0 {
		c.Retrieval = rs.config()
	}
	if r.Capture != nil && r.storeRoot != "" {
		if dir, err := traffic.Dir(r.storeRoot, r.ID); err == nil {
			cc := *r.Capture
			cc.Dir = dir
			c.Capture = &cc
		}
	}
	if up := r.Spec.Upstream; up != nil && r.Revision > 0 {
		c.Models = []string{up.Model}
		c.Backends = append(c.Backends, gateway.Backend{URL: up.BaseURL, Revision: r.Revision, Upstream: true, Model: up.Model, KeyRef: upstreamKeyRef})
	}
	return c
}

// upstreamKeyRef names the upstream key among the gateway's secrets.
const upstreamKeyRef = "upstream"

// gatewaySecrets are the secrets the gateway process gets through a pipe
// at its start: the upstream's key, when there is one.
func (r *Record[S, R]) gatewaySecrets() map[string]string {
	if r.upstreamKey == "" {
		return nil
	}
	return map[string]string{upstreamKeyRef: r.upstreamKey}
}

// secretsDigest is the salted digest of the configured upstream key ("" for
// none).
func (r *Record[S, R]) secretsDigest() string {
	if r.upstreamKey == "" {
		return ""
	}
	r.ensureSalt()
	return scrub.Digest(r.Salt, r.upstreamKey)
}

// applyRoutes writes the gateway's configuration (a new generation) and
// waits until the gateway has it in force; a dead gateway is restarted.
func (m *manager[S, R]) applyRoutes(ctx context.Context, r *Record[S, R]) error {
	r.Generation++
	if err := gateway.WriteConfig(r.Dir, r.gatewayConfig()); err != nil {
		return err
	}
	if err := r.Save(); err != nil {
		return err
	}
	if r.secretsDigest() != r.GatewaySecrets {
		// A new upstream key: only a new gateway process gets it.
		if err := m.restartGateway(ctx, r); err != nil {
			return err
		}
	} else if err := r.Gateway.Reload(); err != nil {
		if err := m.restartGateway(ctx, r); err != nil {
			return err
		}
	} else if err := gateway.WaitGeneration(ctx, localClient, r.gatewayBase(), r.Generation, r.Gateway, 10*time.Second); err != nil {
		if r.Gateway.Alive() {
			return fmt.Errorf("%w; see %s", err, filepath.Join(r.Dir, gateway.LogFile))
		}
		if err := m.restartGateway(ctx, r); err != nil {
			return err
		}
	}
	if sw, ok := m.b.(Switcher[S, R]); ok {
		return sw.Switched(ctx, r)
	}
	return nil
}

// restartGateway starts the gateway on the deployment's address (after
// the configuration was written) and waits until it serves it.
func (m *manager[S, R]) restartGateway(ctx context.Context, r *Record[S, R]) error {
	r.Gateway.Stop(5 * time.Second)
	if m.site.Exe == "" {
		return fmt.Errorf("cannot find the provider's executable, which runs the gateway")
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(r.Host, strconv.Itoa(r.Port)))
	if err != nil {
		return fmt.Errorf("the gateway's port: %w", err)
	}
	defer ln.Close()
	r.Port = ln.Addr().(*net.TCPAddr).Port
	env := m.site.GatewayEnv
	if env == nil {
		env = jobs.Passthrough(os.Environ(), nil) // it needs nothing of llmops'
	}
	p, err := gateway.LaunchWithSecrets(m.site.Exe, r.Dir, ln.(*net.TCPListener), env, r.gatewaySecrets())
	if err != nil {
		return err
	}
	r.Gateway, r.GatewaySecrets = p, r.secretsDigest()
	if err := r.Save(); err != nil {
		return err
	}
	if err := gateway.WaitGeneration(ctx, localClient, r.gatewayBase(), r.Generation, p, 15*time.Second); err != nil {
		return fmt.Errorf("the gateway did not start: %v%s", err, LogTail(filepath.Join(r.Dir, gateway.LogFile), "the gateway's log"))
	}
	return nil
}

// drain waits (up to a minute) until the gateway has no request in flight
// on any of the replicas.
func (r *Record[S, R]) drain(ctx context.Context, reps []Replica[R]) {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) && ctx.Err() == nil && r.Gateway.Alive() {
		s, err := gateway.Scrape(ctx, localClient, r.gatewayBase())
		if err != nil {
			return
		}
		busy := false
		for _, x := range reps {
			busy = busy || gateway.Inflight(s, x.HostPort()) > 0
		}
		if !busy {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// LogTail renders the last 20 lines of a log for an error's detail; what
// names the log ("the replica's log").
func LogTail(path, what string) string {
	lines, err := jobs.Tail(path, 20)
	if err != nil || len(lines) == 0 {
		return fmt.Sprintf("\n\n%s (%s) is empty.", capitalize(what), path)
	}
	return fmt.Sprintf("\n\nLast lines of %s (%s):\n  %s", what, path, strings.Join(lines, "\n  "))
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

var healthClient = &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
	Proxy: nil, DisableKeepAlives: true, DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
}}

// Healthy asks a URL once: 2xx is healthy.
func Healthy(ctx context.Context, url string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := healthClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 300
}
