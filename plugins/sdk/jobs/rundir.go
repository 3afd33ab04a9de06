package jobs

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// The layout of a run directory, shared by every provider that runs jobs
// under this contract: the command's log and its LLMOPS_OUTPUT_DIR side by
// side. The local provider keeps one per job at
// <artifact store>/runs/local/<kind>/<identity hex>; the Slurm provider
// one per attempt at <shared_dir>/llmops/runs/<kind>/<identity hex>/attempt-<n>.
const (
	// LogFile is the command's stdout and stderr.
	LogFile = "job.log"
	// OutputDirName is the directory given as LLMOPS_OUTPUT_DIR.
	OutputDirName = "output"
	// AttemptPrefix starts the name of an attempt's directory
	// (attempt-1, attempt-2, ...) for providers that retry a job.
	AttemptPrefix = "attempt-"
)

// FindOutputDir returns the output directory (LLMOPS_OUTPUT_DIR) of a job
// from what its object records, for readers that know no provider (the
// dashboard reading a run's metrics.jsonl), or "" when none is found.
//
// While a job runs, its log_path names the log in its run directory, and
// the output directory is beside it. Once the job finished, providers
// point log_path at the log stored in the artifact store; the run
// directory is then found by the job's identity (sha256:<hex>) under each
// of runsRoots, as <root>/<kind>/<hex> or, for the newest attempt,
// <root>/<kind>/<hex>/attempt-<n>.
func FindOutputDir(logPath, kind, identity string, runsRoots []string) string {
	if logPath != "" && filepath.Base(logPath) == LogFile {
		if d := filepath.Join(filepath.Dir(logPath), OutputDirName); isDir(d) {
			return d
		}
	}
	hex := strings.TrimPrefix(identity, "sha256:")
	if kind == "" || hex == "" || strings.ContainsAny(kind+hex, `/\.`) {
		return ""
	}
	for _, root := range runsRoots {
		dir := filepath.Join(root, kind, hex)
		if d := filepath.Join(dir, OutputDirName); isDir(d) {
			return d
		}
		if n := lastAttempt(dir); n > 0 {
			if d := filepath.Join(dir, AttemptPrefix+strconv.Itoa(n), OutputDirName); isDir(d) {
				return d
			}
		}
	}
	return ""
}

// lastAttempt returns the highest n of dir's attempt-<n> directories (0
// for none).
func lastAttempt(dir string) int {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var ns []int
	for _, e := range ents {
		if s, ok := strings.CutPrefix(e.Name(), AttemptPrefix); ok && e.IsDir() {
			if n, err := strconv.Atoi(s); err == nil && n > 0 {
				ns = append(ns, n)
			}
		}
	}
	if len(ns) == 0 {
		return 0
	}
	sort.Ints(ns)
	return ns[len(ns)-1]
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
