package ui

import (
	"strings"
	"testing"
)

func TestPagesAndStaticFiles(t *testing.T) {
	ts := newTestState(t)
	ts.version([]obj{{addr: "model.base", value: objVal(nil)}})
	h := New(Options{Store: ts.st, Where: `/tmp/a "dir"`}).Handler()
	for _, p := range []string{"/", "/runs/training_run.ft", "/compare/training_run.sweep", "/lineage", "/lineage/model.base",
		"/deployments/deployment.prod", "/history", "/events", "/objects/model.base"} {
		code, body, hdr := get(t, h, p)
		if code != 200 || !strings.Contains(body, `<main id="main"`) || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
			t.Errorf("GET %s: %d %s", p, code, hdr.Get("Content-Type"))
		}
		if !strings.Contains(body, `data-where="/tmp/a &quot;dir&quot;"`) {
			t.Errorf("GET %s: the directory is not in the page (escaped)", p)
		}
	}
	for _, p := range []string{"/static/js/app.js", "/static/vendor/uplot/uPlot.iife.min.js", "/static/vendor/dagre/dagre.min.js", "/static/app.css"} {
		if code, _, hdr := get(t, h, p); code != 200 || hdr.Get("Content-Type") == "" {
			t.Errorf("GET %s: %d %q", p, code, hdr.Get("Content-Type"))
		}
	}
	// Static files are revalidated by their ETag.
	_, _, hdr := get(t, h, "/static/js/lib.js")
	if hdr.Get("ETag") == "" {
		t.Fatalf("no ETag on a static file: %v", hdr)
	}
	if code, _, _ := get(t, h, "/static/js/lib.js", "If-None-Match", hdr.Get("ETag")); code != 304 {
		t.Errorf("revalidation: %d, want 304", code)
	}
	if code, _, _ := get(t, h, "/nope"); code != 404 {
		t.Errorf("GET /nope: %d", code)
	}
	if code, body, _ := get(t, h, "/api/nope"); code != 404 || !strings.Contains(body, "docs/json-format.md") {
		t.Errorf("GET /api/nope: %d %s", code, body)
	}
}
