package local

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Formats the local provider reads.
var formats = []string{"jsonl", "csv", "txt"}

// inferFormat guesses a data format from a file name.
func inferFormat(name string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".jsonl", ".ndjson":
		return "jsonl"
	case ".csv":
		return "csv"
	case ".txt", ".text":
		return "txt"
	}
	return ""
}

// splitter assigns rows to splits by a seeded hash of their content, so
// the assignment is deterministic, identical rows land in the same split
// (no leakage between train and eval), and editing one row moves at most
// that row.
type splitter struct {
	names []string
	cum   []float64 // cumulative upper bounds, the last one 1
	seed  [8]byte
}

func newSplitter(split map[string]float64, seed int64) *splitter {
	if len(split) == 0 {
		return nil
	}
	s := &splitter{names: sortedKeys(split)}
	total := 0.0
	for _, n := range s.names {
		total += split[n]
	}
	acc := 0.0
	for i, n := range s.names {
		acc += split[n] / total
		if i == len(s.names)-1 {
			acc = 1
		}
		s.cum = append(s.cum, acc)
	}
	binary.LittleEndian.PutUint64(s.seed[:], uint64(seed))
	return s
}

func (s *splitter) assign(row []byte) int {
	h := sha256.New()
	h.Write(s.seed[:])
	h.Write(row)
	var sum [32]byte
	u := float64(binary.BigEndian.Uint64(h.Sum(sum[:0])[:8])>>11) / (1 << 53)
	for i, c := range s.cum {
		if u < c {
			return i
		}
	}
	return len(s.cum) - 1
}

// splitResult is what splitData found.
type splitResult struct {
	rows      int64
	splitRows []int64
}

// splitData reads a data file, checks its rows, counts them and, with a
// splitter, writes each split to outDir/<name>.<format>.
func splitData(dataPath, format, outDir string, sp *splitter) (splitResult, error) {
	var res splitResult
	in, err := os.Open(dataPath)
	if err != nil {
		return res, err
	}
	defer in.Close()
	var outs []*bufio.Writer
	var files []*os.File
	var csvOuts []*csv.Writer
	if sp != nil {
		res.splitRows = make([]int64, len(sp.names))
		if err := os.MkdirAll(outDir, 0o755); err != nil {
			return res, err
		}
		for _, n := range sp.names {
			f, err := os.Create(filepath.Join(outDir, n+"."+format))
			if err != nil {
				return res, err
			}
			files = append(files, f)
			w := bufio.NewWriterSize(f, 256<<10)
			outs = append(outs, w)
			csvOuts = append(csvOuts, csv.NewWriter(w))
		}
		defer func() {
			for _, f := range files {
				f.Close()
			}
		}()
	}
	r := bufio.NewReaderSize(in, 1<<20)
	switch format {
	case "jsonl", "txt":
		line := 0
		for {
			b, err := r.ReadBytes('\n')
			if len(b) > 0 {
				line++
				row := bytes.TrimRight(b, "\r\n")
				if len(bytes.TrimSpace(row)) > 0 {
					if format == "jsonl" && !json.Valid(row) {
						return res, fmt.Errorf("%s line %d is not valid JSON: %s", filepath.Base(dataPath), line, clip(string(row), 80))
					}
					res.rows++
					if sp != nil {
						i := sp.assign(row)
						res.splitRows[i]++
						outs[i].Write(row)
						outs[i].WriteByte('\n')
					}
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return res, err
			}
		}
	case "csv":
		cr := csv.NewReader(r)
		cr.FieldsPerRecord = 0
		header, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return res, fmt.Errorf("%s: %w", filepath.Base(dataPath), err)
		}
		for _, w := range csvOuts {
			if err := w.Write(header); err != nil {
				return res, err
			}
		}
		for {
			rec, err := cr.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				var pe *csv.ParseError
				if errors.As(err, &pe) {
					return res, fmt.Errorf("%s: %w", filepath.Base(dataPath), err)
				}
				return res, err
			}
			res.rows++
			if sp != nil {
				i := sp.assign([]byte(strings.Join(rec, "\x1f")))
				res.splitRows[i]++
				if err := csvOuts[i].Write(rec); err != nil {
					return res, err
				}
			}
		}
		for _, w := range csvOuts {
			w.Flush()
			if err := w.Error(); err != nil {
				return res, err
			}
		}
	default:
		return res, fmt.Errorf("unsupported format %q; the local provider reads %s", format, strings.Join(formats, ", "))
	}
	for i, w := range outs {
		if err := w.Flush(); err != nil {
			return res, err
		}
		if err := files[i].Close(); err != nil {
			return res, err
		}
	}
	files = nil
	return res, nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// datasetInfo is dataset.json in a dataset bundle: what jobs need to find
// the data and its splits from the dataset's id alone.
type datasetInfo struct {
	Format       string                `json:"format"`
	Data         string                `json:"data"`
	Digest       string                `json:"digest"`
	SourceDigest string                `json:"source_digest"`
	Rows         int64                 `json:"rows"`
	Seed         int64                 `json:"seed"`
	Split        map[string]float64    `json:"split,omitempty"`
	Splits       map[string]splitEntry `json:"splits,omitempty"`
}

type splitEntry struct {
	File   string `json:"file"`
	Digest string `json:"digest"`
	Rows   int64  `json:"rows"`
}

const datasetInfoFile = "dataset.json"

// readDataset reads the bundle of a dataset id and returns its info with
// absolute paths.
func (m *meta) readDataset(id string) (*datasetInfo, string, error) {
	dir, err := m.store.Resolve(id)
	if err != nil {
		return nil, "", err
	}
	b, err := os.ReadFile(filepath.Join(dir, datasetInfoFile))
	if err != nil {
		return nil, "", fmt.Errorf("%s is not a dataset (no %s in it): pass a dataset id such as dataset.NAME.id", id, datasetInfoFile)
	}
	var info datasetInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, "", fmt.Errorf("%s: %s: %w", id, datasetInfoFile, err)
	}
	return &info, dir, nil
}

// splitPath returns the file of the first of names that the dataset has.
func (info *datasetInfo) splitPath(dir string, names ...string) string {
	for _, n := range names {
		if e, ok := info.Splits[n]; ok {
			return filepath.Join(dir, filepath.FromSlash(e.File))
		}
	}
	return ""
}

func (info *datasetInfo) splitPaths(dir string) map[string]string {
	out := map[string]string{}
	for n, e := range info.Splits {
		out[n] = filepath.Join(dir, filepath.FromSlash(e.File))
	}
	return out
}
