package tinylm

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
)

// File names inside a model directory.
const (
	ConfigFile  = "config.json"
	WeightsFile = "model.bin"
)

// tensorMagic starts every tensor file (model.bin and checkpoint state).
var tensorMagic = [4]byte{'T', 'L', 'M', 'W'}

type tensorHeader struct {
	DType     string       `json:"dtype"`
	ByteOrder string       `json:"byte_order"`
	Tensors   []tensorMeta `json:"tensors"`
}

type tensorMeta struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
}

// WriteTensors writes tensors in the tinylm tensor format:
//
//	"TLMW" | uint32 version (1) | uint32 header length | JSON header | data
//
// where the JSON header lists each tensor's name and shape, and data is every
// tensor's values in order as little-endian IEEE-754 float32. The output is a
// pure function of the tensors, so equal weights give equal bytes.
func WriteTensors(w io.Writer, tensors []Tensor) error {
	h := tensorHeader{DType: "float32", ByteOrder: "little"}
	for _, t := range tensors {
		if n := numel(t.Shape); n != len(t.Data) {
			return fmt.Errorf("tinylm: tensor %s has %d values for shape %v", t.Name, len(t.Data), t.Shape)
		}
		h.Tensors = append(h.Tensors, tensorMeta{Name: t.Name, Shape: t.Shape})
	}
	hdr, err := json.Marshal(h)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	bw.Write(tensorMagic[:])
	var u [4]byte
	binary.LittleEndian.PutUint32(u[:], FormatVersion)
	bw.Write(u[:])
	binary.LittleEndian.PutUint32(u[:], uint32(len(hdr)))
	bw.Write(u[:])
	bw.Write(hdr)
	for _, t := range tensors {
		for _, v := range t.Data {
			binary.LittleEndian.PutUint32(u[:], math.Float32bits(v))
			bw.Write(u[:])
		}
	}
	return bw.Flush()
}

// ReadTensors reads a file written by WriteTensors.
func ReadTensors(r io.Reader) ([]Tensor, error) {
	br := bufio.NewReader(r)
	var pre [12]byte
	if _, err := io.ReadFull(br, pre[:]); err != nil {
		return nil, fmt.Errorf("tinylm: reading tensor file header: %w", err)
	}
	if !bytes.Equal(pre[:4], tensorMagic[:]) {
		return nil, errors.New("tinylm: not a tinylm tensor file (bad magic)")
	}
	if v := binary.LittleEndian.Uint32(pre[4:8]); v != FormatVersion {
		return nil, fmt.Errorf("tinylm: tensor file version %d is not supported", v)
	}
	n := binary.LittleEndian.Uint32(pre[8:12])
	if n > 1<<20 {
		return nil, errors.New("tinylm: tensor file header too large")
	}
	hdr := make([]byte, n)
	if _, err := io.ReadFull(br, hdr); err != nil {
		return nil, fmt.Errorf("tinylm: reading tensor file header: %w", err)
	}
	var h tensorHeader
	if err := json.Unmarshal(hdr, &h); err != nil {
		return nil, fmt.Errorf("tinylm: bad tensor file header: %w", err)
	}
	if h.DType != "float32" || h.ByteOrder != "little" {
		return nil, fmt.Errorf("tinylm: unsupported tensor encoding %s/%s", h.DType, h.ByteOrder)
	}
	var out []Tensor
	for _, meta := range h.Tensors {
		cnt := numel(meta.Shape)
		if cnt < 0 || cnt > 1<<28 {
			return nil, fmt.Errorf("tinylm: tensor %s has bad shape %v", meta.Name, meta.Shape)
		}
		buf := make([]byte, 4*cnt)
		if _, err := io.ReadFull(br, buf); err != nil {
			return nil, fmt.Errorf("tinylm: tensor %s truncated: %w", meta.Name, err)
		}
		data := make([]float32, cnt)
		for i := range data {
			data[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
		}
		out = append(out, Tensor{Name: meta.Name, Shape: meta.Shape, Data: data})
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return nil, errors.New("tinylm: trailing data after last tensor")
	}
	return out, nil
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return -1
		}
		n *= d
	}
	return n
}

// writeFileAtomic writes data to path via a temporary file and rename, so a
// reader never sees a half-written file.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// MarshalConfig returns the canonical config.json bytes for cfg.
func MarshalConfig(cfg Config) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(cfg); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Save writes the model to dir as config.json and model.bin, creating dir if
// needed. The bytes written depend only on the model's config and weights.
func (m *Model) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cfg, err := MarshalConfig(m.Cfg)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := WriteTensors(&buf, m.Tensors()); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, WeightsFile), buf.Bytes()); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, ConfigFile), cfg)
}

// ResolveDir finds the model directory for path: path itself if it holds a
// config.json, path/model if that does (a training output directory), or the
// directory of path if path is a file.
func ResolveDir(path string) (string, error) {
	if path == "" {
		return "", errors.New("tinylm: empty model path")
	}
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("tinylm: model path: %w", err)
	}
	if !st.IsDir() {
		path = filepath.Dir(path)
	}
	for _, d := range []string{path, filepath.Join(path, "model")} {
		if _, err := os.Stat(filepath.Join(d, ConfigFile)); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("tinylm: no %s in %s (nor in %s)", ConfigFile, path, filepath.Join(path, "model"))
}

// Load reads a model directory written by Save (see ResolveDir for the
// accepted paths).
func Load(path string) (*Model, error) {
	dir, err := ResolveDir(path)
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		return nil, err
	}
	var cfg Config
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("tinylm: %s: %w", filepath.Join(dir, ConfigFile), err)
	}
	m, err := New(cfg)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(dir, WeightsFile))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ts, err := ReadTensors(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, WeightsFile), err)
	}
	if err := assignTensors(m.Tensors(), ts); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, WeightsFile), err)
	}
	return m, nil
}

// assignTensors copies src into dst, checking that names and shapes match.
func assignTensors(dst, src []Tensor) error {
	if len(dst) != len(src) {
		return fmt.Errorf("tinylm: file has %d tensors, model needs %d", len(src), len(dst))
	}
	for i := range dst {
		if dst[i].Name != src[i].Name || fmt.Sprint(dst[i].Shape) != fmt.Sprint(src[i].Shape) {
			return fmt.Errorf("tinylm: tensor %d is %s%v, model needs %s%v",
				i, src[i].Name, src[i].Shape, dst[i].Name, dst[i].Shape)
		}
		copy(dst[i].Data, src[i].Data)
	}
	return nil
}
