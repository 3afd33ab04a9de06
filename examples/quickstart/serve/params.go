package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/llmops/llmops/examples/quickstart/tinylm"
)

// reqError is a refused request: its status (400 unless set), the
// parameter at fault and the error code, in the OpenAI error shape.
type reqError struct {
	status int
	param  string
	code   string
	msg    string
}

func (e *reqError) Error() string { return e.msg }

func badParam(param, format string, a ...any) error {
	return &reqError{param: param, code: "invalid_value", msg: fmt.Sprintf(format, a...)}
}

func unsupported(param, what string) error {
	return &reqError{param: param, code: "unsupported_parameter",
		msg: fmt.Sprintf("%s is not supported by this model server: %s.", param, what)}
}

// genRequest is what a completions or chat request asks for, checked.
type genRequest struct {
	Model        string
	Prompt       string           // completions
	Messages     []tinylm.Message // chat
	Opt          tinylm.GenerateOptions
	Stream       bool
	IncludeUsage bool
}

// field decodes one parameter; a value of the wrong JSON type is a 400
// naming it (never a Go type name).
func field(raw json.RawMessage, name, want string, dst any) error {
	if err := json.Unmarshal(raw, dst); err != nil {
		return badParam(name, "Invalid type for '%s': expected %s.", name, want)
	}
	return nil
}

// paramCheck decodes or checks one request parameter.
type paramCheck func(raw json.RawMessage, r *genRequest) error

// neutral accepts a parameter only at a value that asks for nothing this
// server does not do (null, or the value given); anything else is refused.
func neutral(name, what string, ok ...string) paramCheck {
	return func(raw json.RawMessage, _ *genRequest) error {
		v := string(bytes.TrimSpace(raw))
		if v == "null" {
			return nil
		}
		for _, o := range ok {
			if v == o {
				return nil
			}
		}
		return unsupported(name, what)
	}
}

// common are the parameters both routes take.
var common = map[string]paramCheck{
	"model": func(raw json.RawMessage, r *genRequest) error { return field(raw, "model", "a string", &r.Model) },
	"max_tokens": func(raw json.RawMessage, r *genRequest) error {
		return maxTokens(raw, "max_tokens", r)
	},
	"temperature": func(raw json.RawMessage, r *genRequest) error {
		var t *float64
		if err := field(raw, "temperature", "a number", &t); err != nil || t == nil {
			return err
		}
		if *t < 0 || *t > 2 {
			return badParam("temperature", "temperature must be between 0 and 2 (got %g).", *t)
		}
		r.Opt.Temperature = *t
		return nil
	},
	"seed": func(raw json.RawMessage, r *genRequest) error {
		var s *int64
		if err := field(raw, "seed", "an integer", &s); err != nil || s == nil {
			return err
		}
		r.Opt.Seed = uint64(*s)
		return nil
	},
	"stop": func(raw json.RawMessage, r *genRequest) error {
		if string(raw) == "null" {
			return nil
		}
		var one string
		if json.Unmarshal(raw, &one) == nil {
			r.Opt.Stop = []string{one}
			return nil
		}
		if err := field(raw, "stop", "a string or an array of strings", &r.Opt.Stop); err != nil {
			return err
		}
		if len(r.Opt.Stop) > 4 {
			return badParam("stop", "At most 4 stop sequences (got %d).", len(r.Opt.Stop))
		}
		return nil
	},
	"stream": func(raw json.RawMessage, r *genRequest) error { return field(raw, "stream", "a boolean", &r.Stream) },
	"stream_options": func(raw json.RawMessage, r *genRequest) error {
		var o *struct {
			IncludeUsage bool `json:"include_usage"`
		}
		if err := field(raw, "stream_options", `an object such as {"include_usage": true}`, &o); err != nil || o == nil {
			return err
		}
		r.IncludeUsage = o.IncludeUsage
		return nil
	},
	"n": func(raw json.RawMessage, r *genRequest) error {
		var n *int
		if err := field(raw, "n", "an integer", &n); err != nil || n == nil || *n == 1 {
			return err
		}
		return unsupported("n", "one choice per request (n = 1)")
	},
	"top_p":             neutral("top_p", "sampling uses the whole distribution (top_p = 1)", "1", "1.0"),
	"presence_penalty":  neutral("presence_penalty", "no penalties (0)", "0", "0.0"),
	"frequency_penalty": neutral("frequency_penalty", "no penalties (0)", "0", "0.0"),
	"logit_bias":        neutral("logit_bias", "no logit bias", "{}"),
	// user identifies the caller for the operator's logs; it changes
	// nothing in the answer, so it is accepted.
	"user": func(raw json.RawMessage, r *genRequest) error {
		var u *string
		return field(raw, "user", "a string", &u)
	},
}

var completionParams = merge(common, map[string]paramCheck{
	"prompt":   prompt,
	"echo":     neutral("echo", "the prompt is not echoed", "false"),
	"suffix":   neutral("suffix", "no insertion (suffix)"),
	"logprobs": neutral("logprobs", "no log probabilities"),
	"best_of":  neutral("best_of", "one candidate (best_of = 1)", "1"),
})

var chatParams = merge(common, map[string]paramCheck{
	"messages": messages,
	"max_completion_tokens": func(raw json.RawMessage, r *genRequest) error {
		return maxTokens(raw, "max_completion_tokens", r)
	},
	"logprobs":            neutral("logprobs", "no log probabilities", "false"),
	"top_logprobs":        neutral("top_logprobs", "no log probabilities"),
	"tools":               neutral("tools", "no tool calling", "[]"),
	"tool_choice":         neutral("tool_choice", "no tool calling", `"none"`),
	"parallel_tool_calls": neutral("parallel_tool_calls", "no tool calling"),
	"functions":           neutral("functions", "no function calling", "[]"),
	"function_call":       neutral("function_call", "no function calling", `"none"`),
	"response_format":     neutral("response_format", `plain text only ({"type": "text"})`, `{"type":"text"}`, `{"type": "text"}`),
	"modalities":          neutral("modalities", `text only (["text"])`, `["text"]`),
	"store":               neutral("store", "nothing is stored", "false"),
	"metadata":            neutral("metadata", "nothing is stored", "{}"),
})

func merge(a, b map[string]paramCheck) map[string]paramCheck {
	out := map[string]paramCheck{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func maxTokens(raw json.RawMessage, name string, r *genRequest) error {
	var n *int
	if err := field(raw, name, "an integer", &n); err != nil || n == nil {
		return err
	}
	if *n < 0 || *n > maxMaxTokens {
		return badParam(name, "%s must be between 0 and %d (got %d).", name, maxMaxTokens, *n)
	}
	r.Opt.MaxTokens = *n
	return nil
}

func prompt(raw json.RawMessage, r *genRequest) error {
	if string(raw) == "null" {
		return nil
	}
	if json.Unmarshal(raw, &r.Prompt) == nil {
		return nil
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil && len(list) == 1 {
		r.Prompt = list[0]
		return nil
	}
	return badParam("prompt", "prompt must be a string (or an array of one string); token arrays and batches are not supported.")
}

func messages(raw json.RawMessage, r *genRequest) error {
	var msgs []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	}
	if err := field(raw, "messages", "an array of {role, content} objects", &msgs); err != nil {
		return err
	}
	for i, m := range msgs {
		p := fmt.Sprintf("messages[%d]", i)
		switch m.Role {
		case "system", "developer", "user", "assistant":
		case "tool", "function":
			return unsupported(p+".role", "no tool calling, so no tool messages")
		default:
			return badParam(p+".role", "Invalid role %q: use system, developer, user or assistant.", m.Role)
		}
		text, err := contentText(m.Content, p+".content")
		if err != nil {
			return err
		}
		r.Messages = append(r.Messages, tinylm.Message{Role: m.Role, Content: text})
	}
	return nil
}

// contentText is a message's content: a string, or the text of an array
// of text parts (other parts are refused, not dropped).
func contentText(raw json.RawMessage, param string) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) != nil {
		return "", badParam(param, "Invalid type for '%s': expected a string or an array of content parts.", param)
	}
	var b strings.Builder
	for i, p := range parts {
		if p.Type != "text" {
			return "", unsupported(fmt.Sprintf("%s[%d].type", param, i), "text content parts only")
		}
		b.WriteString(p.Text)
	}
	return b.String(), nil
}

// readBody reads a JSON object's members.
func readBody(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &reqError{status: http.StatusRequestEntityTooLarge, code: "request_too_large", msg: fmt.Sprintf("The request body is larger than %d bytes.", maxBody)}
		}
		return nil, &reqError{msg: "The request body could not be read."}
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return nil, &reqError{code: "invalid_json", msg: "The request body is not a JSON object."}
	}
	return obj, nil
}

// parse checks every member of a request against params: unknown ones are
// refused, never ignored.
func (s *server) parse(obj map[string]json.RawMessage, params map[string]paramCheck) (*genRequest, error) {
	r := &genRequest{Opt: tinylm.GenerateOptions{MaxTokens: defaultMaxTokens, Temperature: 1}}
	r.Opt.Seed = uint64(time.Now().UnixNano()) ^ s.seq.Add(1)<<32
	for _, k := range sortedKeys(obj) {
		check := params[k]
		if check == nil {
			return nil, &reqError{param: k, code: "unknown_parameter", msg: fmt.Sprintf("Unrecognized request argument supplied: %s.", k)}
		}
		if err := check(obj[k], r); err != nil {
			return nil, err
		}
	}
	if r.IncludeUsage && !r.Stream {
		return nil, badParam("stream_options", "stream_options is only allowed with stream: true.")
	}
	return r, nil
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
