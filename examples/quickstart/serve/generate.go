package main

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/llmops/llmops/examples/quickstart/tinylm"
)

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func usage(prompt string, g tinylm.Generation) map[string]int {
	pt := utf8.RuneCountInString(prompt)
	return map[string]int{"prompt_tokens": pt, "completion_tokens": g.Tokens, "total_tokens": pt + g.Tokens}
}

func (s *server) completions(w http.ResponseWriter, r *http.Request) {
	obj, err := readBody(w, r)
	if err != nil {
		writeErr(w, err)
		return
	}
	req, err := s.parse(obj, completionParams)
	if err != nil {
		writeErr(w, err)
		return
	}
	m, name, err := s.model(req.Model)
	if err != nil {
		writeErr(w, err)
		return
	}
	id, created := s.id("cmpl"), time.Now().Unix()
	chunk := func(choices []any) map[string]any {
		return map[string]any{"id": id, "object": "text_completion", "created": created, "model": name, "choices": choices}
	}
	if req.Stream {
		s.stream(w, m, req, req.Prompt, chunk, func(text string, finish any) any {
			return map[string]any{"text": text, "index": 0, "logprobs": nil, "finish_reason": finish}
		})
		return
	}
	g := m.Generate(req.Prompt, req.Opt)
	out := chunk([]any{map[string]any{"text": g.Text, "index": 0, "logprobs": nil, "finish_reason": g.FinishReason}})
	out["usage"] = usage(req.Prompt, g)
	writeJSON(w, http.StatusOK, out)
}

func (s *server) chat(w http.ResponseWriter, r *http.Request) {
	obj, err := readBody(w, r)
	if err != nil {
		writeErr(w, err)
		return
	}
	req, err := s.parse(obj, chatParams)
	if err != nil {
		writeErr(w, err)
		return
	}
	if len(req.Messages) == 0 {
		writeErr(w, badParam("messages", "messages must hold at least one message."))
		return
	}
	m, name, err := s.model(req.Model)
	if err != nil {
		writeErr(w, err)
		return
	}
	prompt, err := m.ChatPrompt(req.Messages)
	if err != nil {
		apiError(w, http.StatusInternalServerError, "server_error", "", "chat_template", "The model's chat template failed; see the replica's log.")
		if s.logger != nil {
			s.logger.Printf("chat template: %v", err)
		}
		return
	}
	id, created := s.id("chatcmpl"), time.Now().Unix()
	chunk := func(choices []any) map[string]any {
		obj := "chat.completion"
		if req.Stream {
			obj = "chat.completion.chunk"
		}
		return map[string]any{"id": id, "object": obj, "created": created, "model": name, "choices": choices}
	}
	if req.Stream {
		first := true
		s.stream(w, m, req, prompt, chunk, func(text string, finish any) any {
			delta := map[string]any{}
			if first {
				delta["role"] = "assistant"
				first = false
			}
			if text != "" || finish == nil {
				delta["content"] = text
			}
			return map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}
		})
		return
	}
	g := m.Generate(prompt, req.Opt)
	out := chunk([]any{map[string]any{
		"index": 0, "message": map[string]any{"role": "assistant", "content": g.Text},
		"logprobs": nil, "finish_reason": g.FinishReason,
	}})
	out["usage"] = usage(prompt, g)
	writeJSON(w, http.StatusOK, out)
}

// stream answers with server-sent events: a chunk per piece of text as the
// model produces it (flushed at once), a last chunk with the
// finish_reason, with stream_options.include_usage a chunk with the usage
// and no choices, then "data: [DONE]".
func (s *server) stream(w http.ResponseWriter, m *tinylm.Model, req *genRequest, prompt string,
	chunk func([]any) map[string]any, choice func(text string, finish any) any) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	gone := false
	send := func(v any) {
		if gone {
			return
		}
		b, _ := json.Marshal(v)
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			gone = true
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
	}
	withUsage := func(c map[string]any) map[string]any {
		if req.IncludeUsage {
			c["usage"] = nil
		}
		return c
	}
	send(withUsage(chunk([]any{choice("", nil)})))
	opt := req.Opt
	opt.OnText = func(piece string) { send(withUsage(chunk([]any{choice(piece, nil)}))) }
	g := m.Generate(prompt, opt)
	send(withUsage(chunk([]any{choice("", g.FinishReason)})))
	if req.IncludeUsage {
		last := chunk([]any{})
		last["usage"] = usage(prompt, g)
		send(last)
	}
	if !gone {
		_, _ = fmt.Fprint(w, "data: [DONE]\n\n")
		if flusher != nil {
			flusher.Flush()
		}
	}
}

// embeddings answers POST /v1/embeddings: input is a string or an array
// of strings; encoding_format float (default) or base64 (little-endian
// float32, as the OpenAI API sends it).
func (s *server) embeddings(w http.ResponseWriter, r *http.Request) {
	obj, err := readBody(w, r)
	if err != nil {
		writeErr(w, err)
		return
	}
	var model, format string
	var inputs []string
	for _, k := range sortedKeys(obj) {
		raw := obj[k]
		switch k {
		case "model":
			err = field(raw, "model", "a string", &model)
		case "input":
			var one string
			if json.Unmarshal(raw, &one) == nil {
				inputs = []string{one}
			} else if json.Unmarshal(raw, &inputs) != nil {
				err = badParam("input", "input must be a string or an array of strings; token arrays are not supported.")
			}
		case "encoding_format":
			if err = field(raw, "encoding_format", "a string", &format); err == nil && format != "" && format != "float" && format != "base64" {
				err = badParam("encoding_format", "encoding_format must be float or base64 (got %q).", format)
			}
		case "dimensions":
			err = neutral("dimensions", "vectors have the model's own size", "")(raw, nil)
		case "user":
			var u *string
			err = field(raw, "user", "a string", &u)
		default:
			err = &reqError{param: k, code: "unknown_parameter", msg: fmt.Sprintf("Unrecognized request argument supplied: %s.", k)}
		}
		if err != nil {
			writeErr(w, err)
			return
		}
	}
	if len(inputs) == 0 {
		writeErr(w, badParam("input", "input is required: a string or an array of strings."))
		return
	}
	m, name, err := s.model(model)
	if err != nil {
		writeErr(w, err)
		return
	}
	data := make([]any, len(inputs))
	tokens := 0
	for i, in := range inputs {
		vec := m.Embed(in)
		tokens += utf8.RuneCountInString(in)
		var emb any = vec
		if format == "base64" {
			b := make([]byte, 4*len(vec))
			for j, f := range vec {
				binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(f))
			}
			emb = base64.StdEncoding.EncodeToString(b)
		}
		data[i] = map[string]any{"object": "embedding", "index": i, "embedding": emb}
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data, "model": name,
		"usage": map[string]int{"prompt_tokens": tokens, "total_tokens": tokens}})
}
