package ui

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/llmops/llmops/cmd/llmops/render"
	"github.com/llmops/llmops/state"
)

//go:embed static
var staticFS embed.FS

// Options configure a Server.
type Options struct {
	// Store is the state, opened by the caller and only read here.
	Store state.Store
	// ArtifactDir is the artifact store's root ("" when unknown): run
	// directories are looked for under its runs/.
	ArtifactDir string
	// RunsRoots are more directories holding <kind>/<identity> run
	// directories (e.g. a cluster provider's shared runs directory).
	RunsRoots []string
	// Token, when set, is required on every request (see auth.go).
	Token string
	// Poll is how often pages refresh what they show (default 2s).
	Poll time.Duration
	// Where says what is shown (the configuration directory), for the
	// pages' header.
	Where string
	// Client scrapes the gateways (default: a client with a 3s timeout).
	Client *http.Client
}

// Server serves the dashboard and its API.
type Server struct {
	opts    Options
	handler http.Handler

	viewMu sync.Mutex
	view   *view

	gw *gatewayWatch
}

// New returns a server over o.Store.
func New(o Options) *Server {
	if o.Poll <= 0 {
		o.Poll = 2 * time.Second
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 3 * time.Second}
	}
	s := &Server{opts: o, gw: newGatewayWatch(o.Client)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/overview", s.apiOverview)
	mux.HandleFunc("GET /api/objects", s.apiObjects)
	mux.HandleFunc("GET /api/objects/{address...}", s.apiObject)
	mux.HandleFunc("GET /api/versions", s.apiVersions)
	mux.HandleFunc("GET /api/diff", s.apiDiff)
	mux.HandleFunc("GET /api/lineage", s.apiLineageGraph)
	mux.HandleFunc("GET /api/lineage/{address...}", s.apiLineage)
	mux.HandleFunc("GET /api/runs/{rest...}", s.apiRunMetrics)
	mux.HandleFunc("GET /api/compare", s.apiCompare)
	mux.HandleFunc("GET /api/deployments/{rest...}", s.apiDeploymentMetrics)
	mux.HandleFunc("GET /api/events", s.apiEvents)
	mux.HandleFunc("GET /api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such API: docs/json-format.md lists them")
	})
	mux.Handle("GET /static/", staticHandler())
	for _, p := range pagePaths {
		mux.HandleFunc("GET "+p, s.page)
	}
	s.handler = s.secure(mux)
	return s
}

// staticHandler serves the embedded files with an ETag of their content:
// a browser revalidates them on each load (Cache-Control: no-cache), and
// gets 304 Not Modified until another llmops serves other files.
func staticHandler() http.Handler {
	static, _ := fs.Sub(staticFS, "static")
	etags := map[string]string{}
	_ = fs.WalkDir(static, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, err := fs.ReadFile(static, p); err == nil {
				sum := sha256.Sum256(b)
				etags[p] = `"` + hex.EncodeToString(sum[:8]) + `"`
			}
		}
		return nil
	})
	files := http.FileServerFS(static)
	return http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tag, ok := etags[strings.TrimPrefix(r.URL.Path, "/")]; ok {
			w.Header().Set("ETag", tag)
			w.Header().Set("Cache-Control", "no-cache")
		}
		files.ServeHTTP(w, r)
	}))
}

// pagePaths are the pages' URLs; each serves index.html, whose script
// renders the page the path names.
var pagePaths = []string{"/{$}", "/objects/", "/runs/", "/compare/", "/lineage", "/lineage/", "/deployments/", "/history", "/events"}

// Handler is the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Warm decodes the newest version ahead of the first page.
func (s *Server) Warm() error {
	_, err := s.current(nil)
	return err
}

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	b, err := staticFS.ReadFile("static/index.html")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	// The page reads its settings from data attributes (no inline script:
	// the content security policy forbids them).
	html := strings.Replace(string(b), `data-poll-ms="2000"`, `data-poll-ms="`+itoa(s.opts.Poll.Milliseconds())+`"`, 1)
	html = strings.Replace(html, `data-where=""`, `data-where="`+escapeAttr(s.opts.Where)+`"`, 1)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(html))
}

// writeJSON writes v as the response.
func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// writeError answers with {"error": msg}.
func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"format_version": render.JSONFormatVersion, "error": msg})
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func escapeAttr(s string) string {
	r := strings.NewReplacer("&", "&amp;", `"`, "&quot;", "<", "&lt;", ">", "&gt;")
	return r.Replace(s)
}
