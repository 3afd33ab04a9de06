package jobs

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// Identity returns the identity of a job: "sha256:<hex>" of the canonical
// JSON of {"kind": kind, "inputs": inputs}. Canonical: object keys sorted
// (at every depth, including inside json.RawMessage values such as
// hyperparameters), no insignificant whitespace, numbers as written.
//
// What goes into inputs decides what reruns the job: for a training run,
// the base model's and the dataset's digests, the command, the
// hyperparameters, the method and the extra environment. Anything that
// does not change the result (resources, names) stays out.
func Identity(kind string, inputs map[string]any) (string, error) {
	canon, err := Canonical(map[string]any{"kind": kind, "inputs": inputs})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(canon)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// Canonical returns the canonical JSON of v (see Identity).
func Canonical(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("job inputs: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return nil, fmt.Errorf("job inputs: %w", err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(generic); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// RunID makes a run id from a prefix and an identity: "<prefix>-<first 16
// hex digits>", e.g. "train-3f2a9c0d1e4b5a69". It names the job to humans
// and in LLMOPS_RUN_ID.
func RunID(prefix, identity string) string {
	h := identity
	if i := bytes.IndexByte([]byte(h), ':'); i >= 0 {
		h = h[i+1:]
	}
	if len(h) > 16 {
		h = h[:16]
	}
	return prefix + "-" + h
}
