package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/llmops/llmops/plugins/sdk/retrieval"
)

// Retrieval-augmented requests: the gateway takes the question from a
// chat's last user message (or a completion's prompt), retrieves chunks
// (package retrieval), puts the filled template in its place, and adds
// "citations": [{"id", "score"}] to the response (the first event of a
// stream).

// loadRetrieval gives rt the retriever of its configuration: the one
// already loaded when nothing changed, else the index read anew.
func (s *Server) loadRetrieval(rt *route) error {
	c := rt.cfg.Retrieval
	if c == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.retr != nil && reflect.DeepEqual(s.retr.Config(), *c) {
		rt.retr = s.retr
		return nil
	}
	r, err := retrieval.New(*c)
	if err != nil {
		return err
	}
	s.retr, rt.retr = r, r
	s.logf("retrieval: index %s loaded", c.IndexID)
	return nil
}

// augment replaces the question of a chat or completion request by the
// prompt retrieval fills. It answers the request itself (and returns
// false) when there is no question or retrieval fails.
func (s *Server) augment(ctx context.Context, w http.ResponseWriter, rt *route, x *exchange, start time.Time) bool {
	var field string
	switch x.path {
	case "/v1/chat/completions":
		field = "messages"
	case "/v1/completions":
		field = "prompt"
	default:
		return true
	}
	dep, revision := rt.cfg.Deployment, rt.cfg.Revision
	refuse := func(code int, typ, param, errCode, reason, msg string) bool {
		writeError(w, code, typ, param, errCode, msg)
		s.metrics.record(dep, revision, code, reason, false, time.Since(start), usage{})
		return false
	}
	var body map[string]json.RawMessage
	if json.Unmarshal(x.body, &body) != nil || body == nil {
		return refuse(http.StatusBadRequest, "invalid_request_error", "", "invalid_json", "invalid_json", "The request body is not a JSON object.")
	}
	question, replace, ok := questionOf(field, body[field])
	if !ok {
		what := "a user message with text content"
		if field == "prompt" {
			what = "a string prompt"
		}
		return refuse(http.StatusBadRequest, "invalid_request_error", field, "invalid_value", "invalid_value",
			"This deployment answers from its documents (retrieval): the request needs "+what+", the question it retrieves for.")
	}
	prompt, hits, err := rt.retr.Retrieve(ctx, question)
	if err != nil {
		s.logf("retrieval failed: %v", err)
		s.metrics.retrieval(dep, revision, "error")
		return refuse(http.StatusBadGateway, "server_error", "", "retrieval_failed", "retrieval", "The retrieval step failed; the gateway's log says why.")
	}
	result := "hit"
	if len(hits) == 0 {
		result = "empty"
	}
	s.metrics.retrieval(dep, revision, result)
	body[field] = replace(prompt)
	nb, err := json.Marshal(body)
	if err != nil {
		return refuse(http.StatusBadRequest, "invalid_request_error", "", "invalid_json", "invalid_json", "The request body could not be rewritten.")
	}
	x.body, x.citations = nb, append([]retrieval.Hit{}, hits...)
	return true
}

// questionOf reads the question from a request's messages (the last user
// message's text) or prompt (a string, or an array of one), and returns
// how to put the filled prompt in its place.
func questionOf(field string, raw json.RawMessage) (string, func(string) json.RawMessage, bool) {
	quote := func(s string) json.RawMessage { b, _ := json.Marshal(s); return b }
	if field == "prompt" {
		var p string
		if json.Unmarshal(raw, &p) != nil {
			var ps []string
			if json.Unmarshal(raw, &ps) != nil || len(ps) != 1 {
				return "", nil, false
			}
			p = ps[0]
		}
		return p, quote, strings.TrimSpace(p) != ""
	}
	var msgs []map[string]json.RawMessage
	if json.Unmarshal(raw, &msgs) != nil {
		return "", nil, false
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		var role string
		if json.Unmarshal(msgs[i]["role"], &role) != nil || role != "user" {
			continue
		}
		text, ok := messageText(msgs[i]["content"])
		if !ok || strings.TrimSpace(text) == "" {
			return "", nil, false
		}
		return text, func(prompt string) json.RawMessage {
			msgs[i]["content"] = quote(prompt)
			b, _ := json.Marshal(msgs)
			return b
		}, true
	}
	return "", nil, false
}

// messageText is a message's content: a string, or its text parts.
func messageText(raw json.RawMessage) (string, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) != nil {
		return "", false
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type != "text" {
			return "", false
		}
		b.WriteString(p.Text)
	}
	return b.String(), true
}

// citationsJSON renders the citations: [{"id", "score"}].
func citationsJSON(hits []retrieval.Hit) []byte {
	b, _ := json.Marshal(hits)
	return b
}

// addCitations adds "citations" to a response: to the JSON object of a
// plain response (read whole: a completion is small), or to the first
// event of a stream (the rest is relayed as it comes).
func addCitations(resp *http.Response, x *exchange) {
	cites := citationsJSON(x.citations)
	if x.stream {
		resp.Body = &citingStream{src: resp.Body, cites: cites}
		resp.ContentLength = -1
		resp.Header.Del("Content-Length")
		return
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	resp.Body.Close()
	var obj map[string]json.RawMessage
	if err == nil && json.Unmarshal(b, &obj) == nil && obj != nil {
		obj["citations"] = cites
		if nb, err := json.Marshal(obj); err == nil {
			b = nb
		}
	}
	resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
	resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
}

// citingStream relays a server-sent event stream, inserting "citations"
// as the first member of the first `data: {` event's object.
type citingStream struct {
	src     io.ReadCloser
	cites   []byte
	pending []byte
	done    bool
	err     error
}

func (c *citingStream) Read(p []byte) (int, error) {
	for !c.done && !c.inject() {
		if c.err != nil {
			c.done = true // the stream ended before an event: relay what came
			break
		}
		buf := make([]byte, 32<<10)
		n, err := c.src.Read(buf)
		c.pending, c.err = append(c.pending, buf[:n]...), err
	}
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	if c.err != nil {
		return 0, c.err
	}
	return c.src.Read(p)
}

// inject inserts the citations into the first data event of pending, once
// it has arrived whole up to its object's brace; it reports whether the
// stream can be relayed (injected, or nothing to inject into).
func (c *citingStream) inject() bool {
	i := bytes.Index(c.pending, []byte("data:"))
	if i < 0 {
		if len(c.pending) > 64<<10 {
			c.done = true
		}
		return c.done
	}
	j := i + len("data:")
	for j < len(c.pending) && c.pending[j] == ' ' {
		j++
	}
	if j == len(c.pending) {
		return false // the event's start is still coming
	}
	c.done = true
	if c.pending[j] != '{' {
		return true
	}
	ins := append([]byte(`"citations":`), c.cites...)
	if k := bytes.IndexFunc(c.pending[j+1:], func(r rune) bool { return r != ' ' }); k < 0 || c.pending[j+1+k] != '}' {
		ins = append(ins, ',')
	}
	c.pending = append(c.pending[:j+1], append(ins, c.pending[j+1:]...)...)
	return true
}

func (c *citingStream) Close() error { return c.src.Close() }
