package traffic

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"
)

// Row is an exchange with the latest feedback posted for its request id.
type Row struct {
	Record
	Feedback *Feedback `json:"feedback,omitempty"`
}

// Feedback is what was posted about an exchange (the latest post wins).
type Feedback struct {
	Time       time.Time `json:"time"`
	Rating     *float64  `json:"rating,omitempty"`
	Correction string    `json:"correction,omitempty"`
}

// Join returns the exchanges of recs in order, each with the latest
// feedback for its request id. Feedback for a request that was not
// captured is counted in orphans.
func Join(recs []Record) (rows []Row, orphans int) {
	fb := map[string]*Feedback{}
	for _, r := range recs {
		if r.Type == TypeFeedback {
			fb[r.RequestID] = &Feedback{Time: r.Time, Rating: r.Rating, Correction: r.Correction}
		}
	}
	seen := map[string]bool{}
	for _, r := range recs {
		if r.Type != TypeExchange {
			continue
		}
		seen[r.RequestID] = true
		rows = append(rows, Row{Record: r, Feedback: fb[r.RequestID]})
	}
	for id := range fb {
		if !seen[id] {
			orphans++
		}
	}
	return rows, orphans
}

// DatasetRow is one line of a dataset version made from traffic: `text`
// (what a language model trains on: the input followed by the answer, the
// correction when feedback gave one), and the parts it was made from.
type DatasetRow struct {
	Text       string   `json:"text"`
	Prompt     string   `json:"prompt"`
	Completion string   `json:"completion"`
	Rating     *float64 `json:"rating,omitempty"`
	Corrected  bool     `json:"corrected,omitempty"`
	RequestID  string   `json:"request_id"`
}

// SnapshotResult is a dataset version's content made from traffic.
type SnapshotResult struct {
	// Data is the JSON lines of the rows.
	Data []byte
	// Digest is sha256:<hex> of Data (the artifact id of the data file).
	Digest string
	Rows   int
	// Segments is the number of sealed segments read.
	Segments int
}

// Snapshot makes a dataset version from the sealed segments of a traffic
// directory: the successful exchanges (status 200) with an answer, in
// capture order, each with the latest feedback; with minRating, only those
// whose feedback rating is at least that. The same sealed segments give
// the same bytes.
func Snapshot(dir string, minRating *float64) (*SnapshotResult, error) {
	segs, err := sealedRecords(dir)
	if err != nil {
		return nil, err
	}
	return snapshotOf(segs, len(segs), minRating)
}

// SnapshotMatching remakes the snapshot whose digest is digest: the one
// made when the first n sealed segments existed (segments are only ever
// added, so a snapshot taken at plan time is a prefix of what apply
// finds). It errors when no prefix gives that digest (segments were
// deleted).
func SnapshotMatching(dir string, minRating *float64, digest string) (*SnapshotResult, error) {
	segs, err := sealedRecords(dir)
	if err != nil {
		return nil, err
	}
	for n := len(segs); n >= 0; n-- {
		s, err := snapshotOf(segs, n, minRating)
		if err != nil {
			return nil, err
		}
		if s.Digest == digest {
			return s, nil
		}
	}
	return nil, fmt.Errorf("no snapshot of the captured traffic in %s has the digest %s any more (were segments deleted?); plan again", dir, digest)
}

func sealedRecords(dir string) ([][]Record, error) {
	segs, err := Segments(dir)
	if err != nil {
		return nil, err
	}
	var out [][]Record
	for _, s := range segs {
		if !s.Sealed {
			continue
		}
		recs, err := readSegment(filepath.Join(dir, s.Name), false)
		if err != nil {
			return nil, err
		}
		out = append(out, recs)
	}
	return out, nil
}

func snapshotOf(segs [][]Record, n int, minRating *float64) (*SnapshotResult, error) {
	res := &SnapshotResult{Segments: n}
	var recs []Record
	for _, s := range segs[:n] {
		recs = append(recs, s...)
	}
	rows, _ := Join(recs)
	for _, r := range rows {
		if r.Status != 200 {
			continue
		}
		var rating *float64
		if r.Feedback != nil {
			rating = r.Feedback.Rating
		}
		if minRating != nil && (rating == nil || *rating < *minRating) {
			continue
		}
		answer, corrected := r.Completion, false
		if r.Feedback != nil && r.Feedback.Correction != "" {
			answer, corrected = r.Feedback.Correction, true
		}
		input := r.Prompt
		if input == "" {
			input = r.LastUserMessage()
		}
		if answer == "" || input == "" {
			continue
		}
		b, err := json.Marshal(DatasetRow{Text: input + answer, Prompt: input, Completion: answer, Rating: rating, Corrected: corrected, RequestID: r.RequestID})
		if err != nil {
			return nil, err
		}
		res.Data = append(append(res.Data, b...), '\n')
		res.Rows++
	}
	sum := sha256.Sum256(res.Data)
	res.Digest = "sha256:" + hex.EncodeToString(sum[:])
	return res, nil
}
