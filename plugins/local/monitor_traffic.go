package local

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/traffic"
)

// Checks on a deployment's captured traffic (its capture block): the
// window is the exchanges and feedback captured since the previous
// reading (the latest maxWindow; all of them at the first reading),
// sealed or not.
//
//   - drift:input_length, drift:language: the population stability index
//     (traffic.LengthPSI, traffic.LanguagePSI) of the window's inputs
//     against the training_dataset's rows; at least minDriftRows inputs.
//   - empty_answer_rate: the share of the window's successful exchanges
//     whose completion is empty (blank).
//   - feedback_score: the mean rating of the feedback posted in the
//     window.
const (
	maxWindow       = 5000
	minDriftRows    = 20
	maxReferenceRow = 5000
)

type trafficWindow struct {
	m     *meta
	st    sdk.Object
	depID string
	since time.Time

	loaded    bool
	err       error
	exchanges []traffic.Record
	feedback  []traffic.Record
	reference []string
	refErr    error
	refLoaded bool
}

func (w *trafficWindow) load() error {
	if w.loaded {
		return w.err
	}
	w.loaded = true
	dir, err := traffic.Dir(w.m.store.Root(), w.depID)
	if err != nil {
		w.err = err
		return err
	}
	recs, err := traffic.ReadRecords(dir, false)
	if err != nil {
		w.err = err
		return err
	}
	for _, r := range recs {
		if !r.Time.After(w.since) {
			continue
		}
		if r.Type == traffic.TypeFeedback {
			w.feedback = append(w.feedback, r)
		} else {
			w.exchanges = append(w.exchanges, r)
		}
	}
	if len(w.exchanges) > maxWindow {
		w.exchanges = w.exchanges[len(w.exchanges)-maxWindow:]
	}
	return nil
}

// value measures one traffic check; NaN with a note when it has none.
func (w *trafficWindow) value(name string) (float64, string) {
	if err := w.load(); err != nil {
		return math.NaN(), "the captured traffic: " + err.Error()
	}
	switch name {
	case "empty_answer_rate":
		n, empty := 0, 0
		for _, r := range w.exchanges {
			if r.Status == 200 {
				n++
				if strings.TrimSpace(r.Completion) == "" {
					empty++
				}
			}
		}
		if n == 0 {
			return math.NaN(), "no successful exchange captured in the window (a deployment without a capture block captures none)"
		}
		return float64(empty) / float64(n), ""
	case "feedback_score":
		n, sum := 0, 0.0
		for _, r := range w.feedback {
			if r.Rating != nil {
				n++
				sum += *r.Rating
			}
		}
		if n == 0 {
			return math.NaN(), "no rated feedback in the window (POST /v1/feedback)"
		}
		return sum / float64(n), ""
	}
	var inputs []string
	for _, r := range w.exchanges {
		if in := r.Input(); in != "" {
			inputs = append(inputs, in)
		}
	}
	if len(inputs) < minDriftRows {
		return math.NaN(), fmt.Sprintf("%d captured inputs in the window; drift is measured on at least %d", len(inputs), minDriftRows)
	}
	ref, err := w.referenceTexts()
	if err != nil {
		return math.NaN(), err.Error()
	}
	if name == "drift:language" {
		return traffic.LanguagePSI(ref, inputs), ""
	}
	return traffic.LengthPSI(ref, inputs), ""
}

// referenceTexts reads the training dataset's texts: its train split (or
// data), each row's text or prompt (JSON lines) or line (txt).
func (w *trafficWindow) referenceTexts() ([]string, error) {
	if w.refLoaded {
		return w.reference, w.refErr
	}
	w.refLoaded = true
	id := w.st.GetString("training_dataset")
	if id == "" {
		w.refErr = fmt.Errorf("drift checks need training_dataset = dataset.NAME.id")
		return nil, w.refErr
	}
	info, dir, err := w.m.readDataset(id)
	if err != nil {
		w.refErr = err
		return nil, err
	}
	path := info.splitPath(dir, "train")
	if path == "" {
		path = dir + string(os.PathSeparator) + info.Data
	}
	f, err := os.Open(path)
	if err != nil {
		w.refErr = err
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() && len(w.reference) < maxReferenceRow {
		line := sc.Text()
		if info.Format == "jsonl" {
			var row struct {
				Text   string `json:"text"`
				Prompt string `json:"prompt"`
			}
			if json.Unmarshal([]byte(line), &row) != nil {
				continue
			}
			if line = row.Prompt; line == "" {
				line = row.Text
			}
		}
		if strings.TrimSpace(line) != "" {
			w.reference = append(w.reference, line)
		}
	}
	if len(w.reference) == 0 {
		w.refErr = fmt.Errorf("the training dataset %s has no text rows to compare with", id)
	}
	return w.reference, w.refErr
}
