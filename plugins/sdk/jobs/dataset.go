package jobs

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// The dataset bundle: how a dataset version is laid out in the artifact
// store, so that any provider can read a dataset another one made (a
// dataset imported locally, trained on in Slurm):
//
//	dataset.json           DatasetInfo
//	data.<format>          the whole data
//	splits/<name>.<format> one file per split, when the dataset is split
//
// Rows are assigned to splits by a seeded hash of their content
// (DatasetSplitter), so a split is deterministic, identical rows land in
// the same split, and editing one row moves at most that row.

// DatasetInfoFile is the name of a bundle's description.
const DatasetInfoFile = "dataset.json"

// DatasetFormats are the data formats a bundle may hold.
var DatasetFormats = []string{"jsonl", "csv", "txt"}

// DatasetInfo is dataset.json.
type DatasetInfo struct {
	Format       string                `json:"format"`
	Data         string                `json:"data"`
	Digest       string                `json:"digest"`
	SourceDigest string                `json:"source_digest"`
	Rows         int64                 `json:"rows"`
	Seed         int64                 `json:"seed"`
	Split        map[string]float64    `json:"split,omitempty"`
	Splits       map[string]SplitEntry `json:"splits,omitempty"`
}

// SplitEntry describes one split file of a bundle.
type SplitEntry struct {
	File   string `json:"file"`
	Digest string `json:"digest"`
	Rows   int64  `json:"rows"`
}

// Split names tried, in order, for the training and the evaluation data.
var (
	TrainSplitNames = []string{"train"}
	EvalSplitNames  = []string{"eval", "validation", "test"}
)

// ReadDatasetInfo reads the dataset.json of the bundle in dir.
func ReadDatasetInfo(dir string) (*DatasetInfo, error) {
	b, err := os.ReadFile(filepath.Join(dir, DatasetInfoFile))
	if err != nil {
		return nil, fmt.Errorf("%s is not a dataset bundle (no %s in it): pass a dataset id such as dataset.NAME.id", dir, DatasetInfoFile)
	}
	var info DatasetInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, DatasetInfoFile), err)
	}
	if info.Data == "" || strings.Contains(info.Data, "..") {
		return nil, fmt.Errorf("%s: invalid data file %q", filepath.Join(dir, DatasetInfoFile), info.Data)
	}
	return &info, nil
}

// SplitPath returns the file of the first of names that the dataset has,
// under the bundle directory dir, or "".
func (info *DatasetInfo) SplitPath(dir string, names ...string) string {
	for _, n := range names {
		if e, ok := info.Splits[n]; ok {
			return filepath.Join(dir, filepath.FromSlash(e.File))
		}
	}
	return ""
}

// SplitPaths maps every split name to its file under dir.
func (info *DatasetInfo) SplitPaths(dir string) map[string]string {
	out := map[string]string{}
	for n, e := range info.Splits {
		out[n] = filepath.Join(dir, filepath.FromSlash(e.File))
	}
	return out
}

// DatasetEnv fills the dataset variables of a job from a bundle in dir:
// for a training run (eval false) LLMOPS_DATASET_PATH is the whole data,
// LLMOPS_TRAIN_PATH and LLMOPS_EVAL_PATH the splits when there are some;
// for an evaluation LLMOPS_DATASET_PATH is the eval split when there is one.
func (info *DatasetInfo) DatasetEnv(e *Env, dir string, eval bool) {
	whole := filepath.Join(dir, info.Data)
	e.Splits = info.SplitPaths(dir)
	if eval {
		e.DatasetPath = info.SplitPath(dir, EvalSplitNames...)
		if e.DatasetPath == "" {
			e.DatasetPath = whole
		}
		return
	}
	e.DatasetPath = whole
	e.TrainPath = info.SplitPath(dir, TrainSplitNames...)
	e.EvalPath = info.SplitPath(dir, EvalSplitNames...)
}

// InferFormat guesses a data format from a file name ("" when unknown).
func InferFormat(name string) string {
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

// DatasetSplitter assigns rows to named splits by a seeded hash of their
// content.
type DatasetSplitter struct {
	Names []string // sorted
	cum   []float64
	seed  [8]byte
}

// NewDatasetSplitter returns a splitter for fractions by name, or nil when
// there is no split.
func NewDatasetSplitter(split map[string]float64, seed int64) *DatasetSplitter {
	if len(split) == 0 {
		return nil
	}
	s := &DatasetSplitter{}
	total := 0.0
	for n, f := range split {
		s.Names = append(s.Names, n)
		total += f
	}
	sort.Strings(s.Names)
	acc := 0.0
	for i, n := range s.Names {
		acc += split[n] / total
		if i == len(s.Names)-1 {
			acc = 1
		}
		s.cum = append(s.cum, acc)
	}
	binary.LittleEndian.PutUint64(s.seed[:], uint64(seed))
	return s
}

// Assign returns the index in Names of the split a row belongs to.
func (s *DatasetSplitter) Assign(row []byte) int {
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

// BuildDatasetBundle lays out a bundle in dir (which must exist) from the
// data file at data: it copies the data, checks and counts its rows
// (every jsonl line must be JSON; blank lines are not rows; a CSV header
// is not a row), writes the splits and dataset.json, and returns the info.
// SourceDigest is left for the caller to set before writing, so it is an
// argument.
func BuildDatasetBundle(dir, data, format, sourceDigest string, split map[string]float64, seed int64) (*DatasetInfo, error) {
	name := "data." + format
	if err := copyFileTo(data, filepath.Join(dir, name)); err != nil {
		return nil, err
	}
	sp := NewDatasetSplitter(split, seed)
	rows, splitRows, err := splitFile(filepath.Join(dir, name), format, filepath.Join(dir, "splits"), sp)
	if err != nil {
		return nil, err
	}
	digest, err := fileDigest(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	info := &DatasetInfo{Format: format, Data: name, Digest: digest, SourceDigest: sourceDigest, Rows: rows, Seed: seed}
	if sp != nil {
		info.Split, info.Splits = split, map[string]SplitEntry{}
		for i, n := range sp.Names {
			file := "splits/" + n + "." + format
			d, err := fileDigest(filepath.Join(dir, filepath.FromSlash(file)))
			if err != nil {
				return nil, err
			}
			info.Splits[n] = SplitEntry{File: file, Digest: d, Rows: splitRows[i]}
		}
	}
	b, _ := json.MarshalIndent(info, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, DatasetInfoFile), append(b, '\n'), 0o644); err != nil {
		return nil, err
	}
	return info, nil
}

func fileDigest(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

func copyFileTo(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// RowError is a malformed row of a data file: a jsonl line that is not
// JSON, a CSV record that does not parse or has the wrong number of
// fields.
type RowError struct {
	// File names the data file as the user knows it (the dataset's source
	// as configured, or the file's base name).
	File string
	// Line is the 1-based line where the bad row starts.
	Line int
	// Reason says what is wrong with the row.
	Reason string
	// Format is the data format the row was read as.
	Format string
}

func (e *RowError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason) }

// Fix says what to do about the row.
func (e *RowError) Fix() string {
	rule := "Every line of a jsonl dataset must be one JSON value (blank lines are skipped)"
	if e.Format == "csv" {
		rule = "Every record of a CSV dataset must parse and have as many fields as the header row"
	}
	return fmt.Sprintf("%s: fix or remove the row at line %d of %s, then plan again.", rule, e.Line, e.File)
}

// CheckDatasetFile checks every row of the data file at path as
// BuildDatasetBundle does, writing nothing, and returns the number of
// rows. Providers call it when they plan a dataset, so that a malformed
// row fails the plan (naming name:line) instead of the apply, after the
// dataset's dependents may already be gone. name is how an error names
// the file: the source as the configuration gives it.
func CheckDatasetFile(path, format, name string) (int64, error) {
	rows, _, err := splitFile(path, format, "", nil)
	var re *RowError
	if errors.As(err, &re) {
		re.File = name
	}
	return rows, err
}

// splitFile checks and counts the rows of a data file and, with a
// splitter, writes each split to outDir/<name>.<format>. A bad row is a
// *RowError naming the file by its base name.
func splitFile(path, format, outDir string, sp *DatasetSplitter) (rows int64, splitRows []int64, err error) {
	in, err := os.Open(path)
	if err != nil {
		return 0, nil, err
	}
	defer in.Close()
	var outs []*bufio.Writer
	var csvOuts []*csv.Writer
	if sp != nil {
		splitRows = make([]int64, len(sp.Names))
		if err := os.MkdirAll(outDir, 0o755); err != nil {
			return 0, nil, err
		}
		for _, n := range sp.Names {
			f, err := os.Create(filepath.Join(outDir, n+"."+format))
			if err != nil {
				return 0, nil, err
			}
			defer f.Close()
			w := bufio.NewWriterSize(f, 256<<10)
			outs = append(outs, w)
			csvOuts = append(csvOuts, csv.NewWriter(w))
		}
	}
	r := bufio.NewReaderSize(in, 1<<20)
	switch format {
	case "jsonl", "txt":
		line := 0
		for {
			b, rerr := r.ReadBytes('\n')
			if len(b) > 0 {
				line++
				row := bytes.TrimRight(b, "\r\n")
				if len(bytes.TrimSpace(row)) > 0 {
					if format == "jsonl" && !json.Valid(row) {
						return 0, nil, &RowError{File: filepath.Base(path), Line: line, Reason: jsonRowReason(row), Format: format}
					}
					rows++
					if sp != nil {
						i := sp.Assign(row)
						splitRows[i]++
						outs[i].Write(row)
						outs[i].WriteByte('\n')
					}
				}
			}
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				return 0, nil, rerr
			}
		}
	case "csv":
		cr := csv.NewReader(r)
		header, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, nil, csvRowError(path, err)
		}
		for _, w := range csvOuts {
			if err := w.Write(header); err != nil {
				return 0, nil, err
			}
		}
		for {
			rec, err := cr.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				return 0, nil, csvRowError(path, err)
			}
			rows++
			if sp != nil {
				i := sp.Assign([]byte(strings.Join(rec, "\x1f")))
				splitRows[i]++
				if err := csvOuts[i].Write(rec); err != nil {
					return 0, nil, err
				}
			}
		}
		for _, w := range csvOuts {
			w.Flush()
			if err := w.Error(); err != nil {
				return 0, nil, err
			}
		}
	default:
		return 0, nil, fmt.Errorf("unsupported format %q; datasets are %s", format, strings.Join(DatasetFormats, ", "))
	}
	for _, w := range outs {
		if err := w.Flush(); err != nil {
			return 0, nil, err
		}
	}
	return rows, splitRows, nil
}

// jsonRowReason says why a jsonl line is not JSON, with the start of the
// line.
func jsonRowReason(row []byte) string {
	var v any
	why := "not valid JSON"
	if err := json.Unmarshal(row, &v); err != nil {
		why += " (" + err.Error() + ")"
	}
	s := string(row)
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return why + ": " + s
}

// csvRowError turns a CSV parse error into a *RowError; other errors
// (reading the file) pass through.
func csvRowError(path string, err error) error {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return err
	}
	return &RowError{File: filepath.Base(path), Line: pe.StartLine, Reason: "not a valid CSV record: " + pe.Err.Error(), Format: "csv"}
}
