package ui

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/cmd/llmops/render"
	"github.com/llmops/llmops/engine/history"
	"github.com/llmops/llmops/plugins/sdk/jobs"
)

// maxMetricsRead bounds what one metrics request reads of a metrics.jsonl;
// a page asks again from next_offset for the rest.
const maxMetricsRead = 8 << 20

// logTailLines is how much of a job's log a run page shows.
const logTailLines = 40

// runsRoots are the directories that hold run directories as
// <kind>/<identity>: each provider's directory under the artifact store's
// runs/, and the roots the command was given.
func (s *Server) runsRoots() []string {
	var out []string
	if s.opts.ArtifactDir != "" {
		ents, _ := os.ReadDir(filepath.Join(s.opts.ArtifactDir, "runs"))
		for _, e := range ents {
			if e.IsDir() && e.Name() != "gateways" {
				out = append(out, filepath.Join(s.opts.ArtifactDir, "runs", e.Name()))
			}
		}
	}
	return append(out, s.opts.RunsRoots...)
}

// metricsPoints is what a metrics.jsonl holds from an offset on.
type metricsPoints struct {
	Points     []map[string]float64 `json:"points"`
	Offset     int64                `json:"offset"`
	NextOffset int64                `json:"next_offset"`
	// Reset is true when the file is shorter than the offset asked for
	// (a new run wrote it again): the points start from its beginning.
	Reset bool `json:"reset,omitempty"`
}

// readMetricsLines reads the complete lines of a metrics.jsonl from
// offset, at most max bytes; lines that are not JSON objects of numbers
// are skipped (a job's output is not trusted).
func readMetricsLines(path string, offset, max int64) (metricsPoints, error) {
	mp := metricsPoints{Points: []map[string]float64{}, Offset: offset, NextOffset: offset}
	f, err := os.Open(path)
	if err != nil {
		return mp, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return mp, err
	}
	if offset > fi.Size() || offset < 0 {
		offset, mp.Offset, mp.NextOffset, mp.Reset = 0, 0, 0, true
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return mp, err
	}
	data, err := io.ReadAll(io.LimitReader(f, max))
	if err != nil {
		return mp, err
	}
	end := bytes.LastIndexByte(data, '\n')
	if end < 0 {
		if int64(len(data)) == max { // one line longer than max: skip it
			mp.NextOffset = offset + max
		}
		return mp, nil
	}
	for _, line := range bytes.Split(data[:end], []byte("\n")) {
		if m, ok := jobs.ParseMetricsLine(line); ok {
			mp.Points = append(mp.Points, m)
		}
	}
	mp.NextOffset = offset + int64(end) + 1
	return mp, nil
}

// apiRunMetrics: GET /api/runs/{address}/metrics?offset=B, a job's
// metrics.jsonl from byte offset B (default 0), its final metrics, its
// settings and the tail of its log.
func (s *Server) apiRunMetrics(w http.ResponseWriter, r *http.Request) {
	addr, ok := strings.CutSuffix(r.PathValue("rest"), "/metrics")
	if !ok {
		writeError(w, http.StatusNotFound, "no such API: /api/runs/ADDRESS/metrics")
		return
	}
	v := s.viewOrError(w, r)
	if v == nil {
		return
	}
	o := v.object(addr)
	if o == nil {
		writeError(w, http.StatusNotFound, addr+" is not in state version "+strconv.FormatInt(v.serial, 10))
		return
	}
	offset, _ := strconv.ParseInt(r.URL.Query().Get("offset"), 10, 64)
	logPath := history.AttrString(o.Value, "log_path")
	dir := jobs.FindOutputDir(logPath, o.Addr.Resource.Type, history.AttrString(o.Value, "identity"), s.runsRoots())
	st, detail := classify(o)
	doc := map[string]any{
		"format_version": formatVersion, "address": o.Addr.String(), "type": o.Addr.Resource.Type,
		"status": st, "detail": detail, "running": st == StatusRunning, "provider": o.Provider.String(),
		"final": jsonAttr(o, "metrics", "results"), "hyperparameters": jsonAttr(o, "hyperparameters"),
		"resources": jsonAttr(o, "resources"), "passed": jsonAttr(o, "passed"), "gates": jsonAttr(o, "gate"),
		"job_id": history.AttrString(o.Value, "job_id"), "started_at": history.AttrString(o.Value, "started_at"),
		"finished_at": history.AttrString(o.Value, "finished_at"), "log_path": logPath,
		"source": "", "points": []any{}, "offset": offset, "next_offset": offset,
		"commands": commandsFor(o),
	}
	if dir != "" {
		path := filepath.Join(dir, jobs.MetricsLinesFile)
		mp, err := readMetricsLines(path, offset, maxMetricsRead)
		switch {
		case err == nil:
			doc["source"], doc["points"], doc["offset"], doc["next_offset"] = path, mp.Points, mp.Offset, mp.NextOffset
			if mp.Reset {
				doc["reset"] = true
			}
		case !os.IsNotExist(err):
			doc["error"] = err.Error()
		}
	}
	if tail := s.logTail(logPath); tail != nil {
		doc["log_tail"] = tail
	}
	writeJSON(w, doc)
}

// logTail returns the last lines of a job's log: a run directory's
// job.log, or a log stored in the artifact store; nothing else is read.
func (s *Server) logTail(path string) []string {
	if path == "" || !filepath.IsAbs(path) {
		return nil
	}
	path = filepath.Clean(path)
	inStore := s.opts.ArtifactDir != "" && strings.HasPrefix(path, filepath.Clean(s.opts.ArtifactDir)+string(filepath.Separator))
	if !inStore && filepath.Base(path) != jobs.LogFile {
		return nil
	}
	lines, err := jobs.Tail(path, logTailLines)
	if err != nil {
		return nil
	}
	if lines == nil {
		lines = []string{}
	}
	return lines
}

// jsonAttr is the first of the named attributes an object has, encoded
// for JSON (sensitive parts null), or nil.
func jsonAttr(o *history.Object, names ...string) any {
	for _, n := range names {
		if a := history.Attr(o.Value, n); a != cty.NilVal && a.IsKnown() && !a.IsNull() {
			val, _, _ := render.JSONValue(a)
			return val
		}
	}
	return nil
}
