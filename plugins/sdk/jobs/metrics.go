package jobs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
)

// File names of the contract, in LLMOPS_OUTPUT_DIR.
const (
	MetricsFile      = "metrics.json"
	MetricsLinesFile = "metrics.jsonl"
	ModelDir         = "model"
)

// ParseMetrics reads a metrics.json: a flat JSON object of numbers. Values
// that are not numbers are left out and their keys returned as ignored
// (booleans count as 1 and 0); NaN and infinities, which Python's json
// module writes, are left out too. Anything but an object is an error.
func ParseMetrics(data []byte) (metrics map[string]float64, ignored []string, err error) {
	data = bytes.TrimSpace(data)
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // BOM
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(sanitizeNonFinite(data), &raw); err != nil {
		return nil, nil, fmt.Errorf("not a JSON object of numbers: %w", err)
	}
	if raw == nil {
		return nil, nil, fmt.Errorf("not a JSON object of numbers: got null")
	}
	metrics = make(map[string]float64, len(raw))
	for k, v := range raw {
		if f, ok := number(v); ok {
			metrics[k] = f
		} else {
			ignored = append(ignored, k)
		}
	}
	sort.Strings(ignored)
	return metrics, ignored, nil
}

// number converts one JSON value to a finite float64.
func number(v json.RawMessage) (float64, bool) {
	v = bytes.TrimSpace(v)
	switch {
	case len(v) == 0:
		return 0, false
	case bytes.Equal(v, []byte("true")):
		return 1, true
	case bytes.Equal(v, []byte("false")):
		return 0, true
	case v[0] == '-' || (v[0] >= '0' && v[0] <= '9'):
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, false
		}
		return f, true
	}
	return 0, false
}

// sanitizeNonFinite replaces the bare tokens NaN, Infinity and -Infinity
// (outside strings) with null, so the rest of the object still parses.
func sanitizeNonFinite(data []byte) []byte {
	if !bytes.Contains(data, []byte("NaN")) && !bytes.Contains(data, []byte("Infinity")) {
		return data
	}
	var out []byte
	inString, escaped := false, false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if inString {
			out = append(out, c)
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		if c == '"' {
			inString = true
			out = append(out, c)
			continue
		}
		matched := false
		for _, tok := range []string{"-Infinity", "Infinity", "NaN"} {
			if bytes.HasPrefix(data[i:], []byte(tok)) {
				out = append(out, "null"...)
				i += len(tok) - 1
				matched = true
				break
			}
		}
		if !matched {
			out = append(out, c)
		}
	}
	return out
}

// ParseMetricsLine parses one metrics.jsonl line; ok is false for a line
// that is not a JSON object or has no number in it.
func ParseMetricsLine(line []byte) (map[string]float64, bool) {
	line = bytes.TrimSpace(line)
	if len(line) < 2 || line[0] != '{' {
		return nil, false
	}
	m, _, err := ParseMetrics(line)
	if err != nil || len(m) == 0 {
		return nil, false
	}
	return m, true
}

// tailWindow is how much of the end of a file LatestMetrics and Tail read.
const tailWindow = 64 << 10

// LatestMetrics returns the last valid line of a metrics.jsonl file (as
// written, trimmed) and its numbers. A missing file, or one without a
// valid line in its last 64 KiB, gives "" and nil without error; a line
// still being written (no newline yet) is used only if it parses.
func LatestMetrics(path string) (string, map[string]float64, error) {
	data, err := readTail(path, tailWindow)
	if err != nil {
		if os.IsNotExist(err) {
			return "", nil, nil
		}
		return "", nil, err
	}
	lines := bytes.Split(data, []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		if m, ok := ParseMetricsLine(lines[i]); ok {
			return string(bytes.TrimSpace(lines[i])), m, nil
		}
	}
	return "", nil, nil
}

// ReadMetrics reads the metrics.json in dir (nil, nil when there is none).
func ReadMetrics(dir string) (map[string]float64, []string, error) {
	data, err := os.ReadFile(dir + string(os.PathSeparator) + MetricsFile)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil, nil
		}
		return nil, nil, err
	}
	if len(data) > 16<<20 {
		return nil, nil, fmt.Errorf("%s is %d bytes: a flat object of numbers is expected", MetricsFile, len(data))
	}
	return ParseMetrics(data)
}

// readTail reads the last n bytes of a file.
func readTail(path string, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := fi.Size() - n
	if off < 0 {
		off = 0
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, n))
	if err != nil {
		return nil, err
	}
	if off > 0 { // drop the partial first line
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		}
	}
	return data, nil
}

// Tail returns the last n lines of a log file (fewer when the file is
// shorter; at most the last 64 KiB are read). Invalid UTF-8 is kept as is.
func Tail(path string, n int) ([]string, error) {
	data, err := readTail(path, tailWindow)
	if err != nil {
		return nil, err
	}
	data = bytes.TrimRight(data, "\n")
	if len(data) == 0 {
		return nil, nil
	}
	lines := bytes.Split(data, []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = string(bytes.TrimRight(l, "\r"))
	}
	return out, nil
}
