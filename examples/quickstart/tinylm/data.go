package tinylm

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// ReadJSONL reads the texts of a JSON-lines file. Each non-blank line must be
// an object with a string "text" field; lines with "prompt" and "completion"
// fields instead are joined as prompt+completion.
func ReadJSONL(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	texts, err := ParseJSONL(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return texts, nil
}

// ParseJSONL is ReadJSONL on a reader.
func ParseJSONL(r io.Reader) ([]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	var texts []string
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var rec struct {
			Text       *string `json:"text"`
			Prompt     *string `json:"prompt"`
			Completion *string `json:"completion"`
		}
		if err := json.Unmarshal(b, &rec); err != nil {
			return nil, fmt.Errorf("line %d: %v", line, err)
		}
		switch {
		case rec.Text != nil:
			texts = append(texts, *rec.Text)
		case rec.Prompt != nil || rec.Completion != nil:
			var s string
			if rec.Prompt != nil {
				s = *rec.Prompt
			}
			if rec.Completion != nil {
				s += *rec.Completion
			}
			texts = append(texts, s)
		default:
			return nil, fmt.Errorf("line %d: no \"text\" field", line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(texts) == 0 {
		return nil, fmt.Errorf("no examples")
	}
	return texts, nil
}

// Dataset is a set of (context, next token) training examples.
type Dataset struct {
	K       int
	Ctx     []uint16 // len = N*K
	Targets []uint16 // len = N
}

// Len is the number of examples.
func (d *Dataset) Len() int { return len(d.Targets) }

// BuildDataset turns texts into next-token examples for m: every character
// of every text, plus the end-of-text boundary, is one target.
func (m *Model) BuildDataset(texts []string) *Dataset {
	k := m.Cfg.Context
	d := &Dataset{K: k}
	ctx := make([]int, 0, k)
	for _, t := range texts {
		ids := m.Encode(t)
		for i := 0; i <= len(ids); i++ {
			for _, c := range m.Context(ctx, ids, i) {
				d.Ctx = append(d.Ctx, uint16(c))
			}
			tgt := BoundaryID
			if i < len(ids) {
				tgt = ids[i]
			}
			d.Targets = append(d.Targets, uint16(tgt))
		}
	}
	return d
}
