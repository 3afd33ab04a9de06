package ui

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// CookieName is the cookie that carries the token once given as ?token=.
const CookieName = "llmops_ui_token"

// NewToken returns a random token (32 bytes, hex).
func NewToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// IsLoopback reports whether a listen address (host:port) binds only the
// loopback interface: 127.0.0.0/8, ::1 or localhost. An empty host (every
// interface) is not loopback.
func IsLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// secure wraps h with the access rules and the headers every answer
// carries.
func (s *Server) secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		if r.URL.Path == "/favicon.ico" {
			// Nothing to hide, and no 401 for the icon of a 401 page.
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if s.opts.Token == "" {
			// Loopback without a token: a page of another site that made
			// its name resolve to 127.0.0.1 (DNS rebinding) sends its own
			// Host, which is refused.
			if !loopbackHost(r.Host) {
				http.Error(w, "llmops ui answers only to a loopback address (127.0.0.1, localhost, [::1]) unless started with a token", http.StatusForbidden)
				return
			}
			h.ServeHTTP(w, r)
			return
		}
		if q := r.URL.Query().Get("token"); q != "" && s.tokenOK(q) {
			// Once: the token moves to a cookie and out of the address
			// bar (and out of the browser's history).
			http.SetCookie(w, &http.Cookie{Name: CookieName, Value: s.opts.Token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
			u := *r.URL
			q := u.Query()
			q.Del("token")
			u.RawQuery = q.Encode()
			if strings.HasPrefix(r.URL.Path, "/api/") {
				h.ServeHTTP(w, r)
				return
			}
			http.Redirect(w, r, (&url.URL{Path: u.Path, RawQuery: u.RawQuery}).String(), http.StatusSeeOther)
			return
		}
		if s.authorized(r) {
			h.ServeHTTP(w, r)
			return
		}
		hd.Set("WWW-Authenticate", `Bearer realm="llmops ui"`)
		if strings.HasPrefix(r.URL.Path, "/api/") {
			writeError(w, http.StatusUnauthorized, "a token is required: send Authorization: Bearer TOKEN (the token llmops ui printed, or LLMOPS_UI_TOKEN)")
			return
		}
		http.Error(w, "401 Unauthorized: open the address llmops ui printed (it carries ?token=...), or send Authorization: Bearer TOKEN.", http.StatusUnauthorized)
	})
}

// authorized reports whether r carries the token in its Authorization
// header or cookie.
func (s *Server) authorized(r *http.Request) bool {
	if a := r.Header.Get("Authorization"); a != "" {
		scheme, tok, ok := strings.Cut(a, " ")
		return ok && strings.EqualFold(scheme, "Bearer") && s.tokenOK(strings.TrimSpace(tok))
	}
	if c, err := r.Cookie(CookieName); err == nil {
		return s.tokenOK(c.Value)
	}
	return false
}

func (s *Server) tokenOK(t string) bool {
	return subtle.ConstantTimeCompare([]byte(t), []byte(s.opts.Token)) == 1
}

// loopbackHost reports whether a Host header names a loopback address.
func loopbackHost(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
