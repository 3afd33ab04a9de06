package jobs

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// ManifestFormat identifies the manifest format.
const ManifestFormat = "llmops-job-manifest/v1"

// ManifestFile is the manifest's file name in a run directory.
const ManifestFile = "manifest.json"

// Job statuses.
const (
	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusTimeout   = "timeout"
	StatusCancelled = "cancelled"
)

// Manifest records a finished job: written once, last, by whatever
// supervises the job (the local provider's supervisor, a Slurm job
// wrapper), so its presence means the job is over.
type Manifest struct {
	Format   string `json:"format"`
	RunID    string `json:"run_id"`
	Kind     string `json:"kind,omitempty"`
	Identity string `json:"identity,omitempty"`
	// Status is succeeded, failed, timeout or cancelled.
	Status   string `json:"status"`
	ExitCode int    `json:"exit_code"`
	// Signal names the signal that ended the command, if any.
	Signal string `json:"signal,omitempty"`
	// Reason says why a job did not succeed, for humans.
	Reason     string    `json:"reason,omitempty"`
	Host       string    `json:"host,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	// Metrics are the final metrics (metrics.json, else the last line of
	// metrics.jsonl).
	Metrics map[string]float64 `json:"metrics,omitempty"`
	// Outputs maps an output's name ("model", "index", "data", "log") to
	// where it went.
	Outputs map[string]Output `json:"outputs,omitempty"`
}

// Output is one stored output of a job.
type Output struct {
	// ID is the artifact id, "sha256:<hex>".
	ID string `json:"id"`
	// Path is where it is (in the artifact store, usually).
	Path  string `json:"path,omitempty"`
	Size  int64  `json:"size"`
	Files int    `json:"files,omitempty"`
}

// Succeeded reports whether the job succeeded.
func (m *Manifest) Succeeded() bool { return m.Status == StatusSucceeded }

// WriteManifest writes m to path atomically (temporary file, fsync,
// rename): readers see the whole manifest or none.
func WriteManifest(path string, m *Manifest) error {
	if m.Format == "" {
		m.Format = ManifestFormat
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, append(data, '\n'), 0o644)
}

// ReadManifest reads a manifest; a missing file is an os.IsNotExist error.
func ReadManifest(path string) (*Manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if m.Format != ManifestFormat {
		return nil, fmt.Errorf("%s: unknown manifest format %q (want %q)", path, m.Format, ManifestFormat)
	}
	return &m, nil
}

// WriteFileAtomic writes data to path through a temporary file in the same
// directory, synced, then renamed over path.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
