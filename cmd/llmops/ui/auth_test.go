package ui

import (
	"net/http"
	"strings"
	"testing"
)

func TestAccess(t *testing.T) {
	ts := newTestState(t)
	ts.version([]obj{{addr: "model.base", value: objVal(nil)}})
	open := New(Options{Store: ts.st}).Handler()
	const tok = "t0ken-for-the-test"
	locked := New(Options{Store: ts.st, Token: tok}).Handler()

	for _, tc := range []struct {
		name string
		h    http.Handler
		path string
		hdr  []string
		code int
	}{
		{"loopback, no token", open, "/api/versions", nil, 200},
		{"loopback by name", open, "/api/versions", []string{"Host", "localhost:8765"}, 200},
		{"loopback IPv6", open, "/", []string{"Host", "[::1]:8765"}, 200},
		{"another site's name (DNS rebinding)", open, "/api/versions", []string{"Host", "evil.example:8765"}, 403},
		{"token: none", locked, "/api/versions", nil, 401},
		{"token: none, page", locked, "/", nil, 401},
		{"token: none, static file", locked, "/static/app.css", nil, 401},
		{"token: wrong bearer", locked, "/api/versions", []string{"Authorization", "Bearer nope"}, 401},
		{"token: bearer", locked, "/api/versions", []string{"Authorization", "Bearer " + tok}, 200},
		{"token: basic is not bearer", locked, "/api/versions", []string{"Authorization", "Basic " + tok}, 401},
		{"token: cookie", locked, "/api/versions", []string{"Cookie", CookieName + "=" + tok}, 200},
		{"token: wrong cookie", locked, "/api/versions", []string{"Cookie", CookieName + "=x"}, 401},
		{"token: any host with the token", locked, "/api/versions", []string{"Host", "dash.internal:8765", "Authorization", "Bearer " + tok}, 200},
		{"token: wrong query", locked, "/api/versions?token=nope", nil, 401},
		{"token: query on the API", locked, "/api/versions?token=" + tok, nil, 200},
	} {
		code, body, _ := get(t, tc.h, tc.path, tc.hdr...)
		if code != tc.code {
			t.Errorf("%s: GET %s = %d, want %d\n%s", tc.name, tc.path, code, tc.code, body)
		}
	}

	// ?token= on a page sets an HttpOnly cookie and sends the browser to
	// the same page without it.
	code, _, hdr := get(t, locked, "/runs/training_run.ft?token="+tok+"&x=1")
	if code != http.StatusSeeOther || hdr.Get("Location") != "/runs/training_run.ft?x=1" {
		t.Errorf("?token=: %d to %q", code, hdr.Get("Location"))
	}
	c := hdr.Get("Set-Cookie")
	if !strings.Contains(c, CookieName+"="+tok) || !strings.Contains(c, "HttpOnly") || !strings.Contains(c, "SameSite=Strict") {
		t.Errorf("Set-Cookie: %s", c)
	}
	// Every answer carries the content security policy.
	_, _, hdr = get(t, open, "/")
	if !strings.Contains(hdr.Get("Content-Security-Policy"), "script-src 'self'") || hdr.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers: %v", hdr)
	}
}

func TestIsLoopback(t *testing.T) {
	for in, want := range map[string]bool{
		"127.0.0.1:8765": true, "127.3.4.5:1": true, "[::1]:8765": true, "localhost:8765": true,
		"0.0.0.0:8765": false, ":8765": false, "[::]:1": false, "192.168.1.10:8765": false, "example.com:80": false, "garbage": false,
	} {
		if got := IsLoopback(in); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", in, got, want)
		}
	}
}
