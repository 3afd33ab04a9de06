package ui_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/values"
	"github.com/llmops/llmops/state"
)

// writeLargeState writes a state of n objects (training runs, evaluations
// and datasets of about 600 bytes each) in one version, in dir/.llmops.
func writeLargeState(t *testing.T, dir string, n int) {
	t.Helper()
	ctx := context.Background()
	st, err := state.OpenSQLite(ctx, filepath.Join(dir, ".llmops", "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w, err := st.Begin(ctx, state.VersionInfo{CreatedAt: time.Now().UTC(), Who: "bench@host", Command: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	kinds := []string{"training_run", "evaluation", "dataset", "model"}
	pad := strings.Repeat("x", 420)
	for i := 0; i < n; i++ {
		kind := kinds[i%len(kinds)]
		v := cty.ObjectVal(map[string]cty.Value{
			"id":     cty.StringVal(fmt.Sprintf("%s-%08d", kind, i)),
			"digest": cty.StringVal(fmt.Sprintf("sha256:%064x", i)),
			"status": cty.StringVal([]string{"succeeded", "succeeded", "succeeded", "failed"}[i%4]),
			"notes":  cty.StringVal(pad),
		})
		enc, err := values.Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		addr := addrs.Resource{Type: kind, Name: "r"}.Instance(addrs.IntKey(i))
		if err := w.PutObject(ctx, &state.Object{Addr: addr, Provider: addrs.ProviderConfig{Type: "local"}, Status: state.StatusReady,
			ValueJSON: enc.Value, TypeJSON: enc.Type, Version: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Finish(ctx, state.VersionComplete, state.Counts{Added: n}); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserLargeState: the overview of a 10,000-object state is on
// screen in under a second, from navigation to the objects' table
// rendered (the page's own performance mark, read through chromedp; the
// fastest of five loads), and it pages through all of them.
func TestBrowserLargeState(t *testing.T) {
	const n = 10000
	b := newBrowser(t)
	dir := t.TempDir()
	writeLargeState(t, dir, n)
	p := newProject(t, dir)
	s := p.startUI("-listen", "127.0.0.1:0")

	// Five loads, all logged; the fastest is held to the bound, so that
	// other processes loading this 2-core machine (CI runs packages in
	// parallel) do not fail the test, while a page or server that got
	// slower does.
	var times []float64
	for i := 0; i < 5; i++ {
		start := time.Now()
		b.visit(s.url, "#objects tr[data-address]")
		wall := time.Since(start)
		ms := eval[float64](b, `performance.getEntriesByName('objects-rendered')[0].startTime`)
		t.Logf("load %d: table rendered %.0f ms after navigation (chromedp: navigate and wait %s)", i+1, ms, wall.Round(time.Millisecond))
		times = append(times, ms)
		if total := eval[int](b, `Number(document.querySelector('#objects').dataset.total)`); total != n {
			t.Fatalf("the table says %d objects, want %d", total, n)
		}
	}
	sort.Float64s(times)
	t.Logf("from navigation to the table rendered: fastest %.0f ms, median %.0f ms", times[0], times[2])
	if times[0] >= 1000 {
		t.Errorf("the overview of %d objects took %.0f ms at best (%v) from navigation to the table rendered; want under 1000", n, times[0], times)
	}
	if rows := eval[int](b, `document.querySelectorAll('#objects tr[data-address]').length`); rows != 100 {
		t.Errorf("%d rows on the first page, want 100", rows)
	}
	if r := b.text("#range"); r != "1–100 of 10,000" {
		t.Errorf("range %q", r)
	}
	b.noConsoleErrors("large overview")
	b.screenshot("overview-10000")
	// The last page, and a filter.
	b.visit(s.url+"?offset=9900", "#objects tr[data-address]")
	b.visit(s.url+"?status=failed&kind=model", "#objects tr[data-address]")
	if total := eval[int](b, `Number(document.querySelector('#objects').dataset.total)`); total != n/4 {
		t.Errorf("failed models: %d, want %d", total, n/4)
	}
	b.noConsoleErrors("large overview, filtered")
}

// TestBrowserToken: on an address that is not loopback, every request
// needs the token printed at start; the printed address (with ?token=)
// opens the dashboard, which keeps working through the cookie it sets.
//
// The server listens on 0.0.0.0 for the length of the test, answering
// nothing without the token; the test talks to it on 127.0.0.1 only.
func TestBrowserToken(t *testing.T) {
	b := newBrowser(t)
	dir := t.TempDir()
	writeLargeState(t, dir, 3)
	p := newProject(t, dir)
	s := p.startUI("-listen", "0.0.0.0:0")
	if s.token == "" {
		t.Fatal("no token printed for a non-loopback address")
	}
	_, port, _ := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(s.url, "http://"), "/"), ":")
	base := "http://127.0.0.1:" + port + "/"
	for _, path := range []string{"", "api/objects", "static/js/app.js", "runs/model.r[3]"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET /%s without the token: %s, want 401", path, resp.Status)
		}
	}
	b.visit(base, "body")
	if txt := b.text("body"); !strings.Contains(txt, "401") {
		t.Errorf("the page without the token says %q", txt)
	}
	b.expectConsoleError("401", 10*time.Second)
	b.visit(base+"?token="+s.token, "#objects tr[data-address]")
	if u := eval[string](b, `location.href`); strings.Contains(u, "token") {
		t.Errorf("the token stays in the address bar: %s", u)
	}
	if c := eval[string](b, `document.cookie`); c != "" {
		t.Errorf("the cookie is readable by scripts: %q", c)
	}
	b.visit(base+"lineage", "#lineage-svg, #graph p")
	b.noConsoleErrors("dashboard with a token")
}
