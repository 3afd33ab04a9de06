package traffic

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Record types.
const (
	TypeExchange = "exchange"
	TypeFeedback = "feedback"
)

// SourceScheme prefixes a deployment's traffic as a dataset source:
// traffic://<deployment id> (the value of deployment.X.traffic).
const SourceScheme = "traffic://"

// Message is one message of a chat request, its content flattened to text.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Record is one line of a segment: an exchange or a feedback.
type Record struct {
	Type      string    `json:"type"`
	Time      time.Time `json:"time"`
	RequestID string    `json:"request_id"`

	// Exchange fields.
	Deployment       string    `json:"deployment,omitempty"`
	Revision         int64     `json:"revision,omitempty"`
	Path             string    `json:"path,omitempty"`
	Model            string    `json:"model,omitempty"`
	Prompt           string    `json:"prompt,omitempty"`
	Messages         []Message `json:"messages,omitempty"`
	Completion       string    `json:"completion,omitempty"`
	Status           int       `json:"status,omitempty"`
	LatencyMS        float64   `json:"latency_ms,omitempty"`
	PromptTokens     int64     `json:"prompt_tokens,omitempty"`
	CompletionTokens int64     `json:"completion_tokens,omitempty"`
	Stream           bool      `json:"stream,omitempty"`
	// Truncated says the response was longer than what the gateway keeps
	// (MaxCapturedBytes): Completion is its beginning.
	Truncated bool `json:"truncated,omitempty"`

	// Feedback fields.
	Rating     *float64 `json:"rating,omitempty"`
	Correction string   `json:"correction,omitempty"`
}

// Input is the text a request sent: the prompt, or the chat messages'
// contents (one per line).
func (r *Record) Input() string {
	if r.Prompt != "" || len(r.Messages) == 0 {
		return r.Prompt
	}
	var b strings.Builder
	for i, m := range r.Messages {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(m.Content)
	}
	return b.String()
}

// LastUserMessage is the last message with role user ("" when none).
func (r *Record) LastUserMessage() string {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == "user" {
			return r.Messages[i].Content
		}
	}
	return ""
}

// Dir is where a deployment's captured traffic lives in the artifact
// store at root.
func Dir(root, deployment string) (string, error) {
	if !safeID(deployment) {
		return "", fmt.Errorf("%q is not a deployment id", deployment)
	}
	return filepath.Join(root, "traffic", deployment), nil
}

// Source is the dataset source naming a deployment's traffic.
func Source(deployment string) string { return SourceScheme + deployment }

// ParseSource returns the deployment id of a traffic:// source; ok is
// false for another kind of source.
func ParseSource(s string) (id string, ok bool, err error) {
	rest, ok := strings.CutPrefix(s, SourceScheme)
	if !ok {
		return "", false, nil
	}
	if !safeID(rest) {
		return "", true, fmt.Errorf("%q does not name a deployment: write source = deployment.NAME.traffic", s)
	}
	return rest, true, nil
}

func safeID(id string) bool {
	if id == "" || len(id) > 128 || id[0] == '.' {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// Remove deletes a deployment's captured traffic (gone is not an error).
func Remove(root, deployment string) error {
	d, err := Dir(root, deployment)
	if err != nil {
		return err
	}
	// Sealed segments are read-only files in a writable directory:
	// RemoveAll removes them.
	if err := os.RemoveAll(d); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
