package jobs_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/llmops/llmops/plugins/sdk/jobs"
)

func TestFindOutputDir(t *testing.T) {
	root := t.TempDir()
	mk := func(p ...string) string {
		d := filepath.Join(append([]string{root}, p...)...)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	const hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	local := mk("store", "runs", "local", "training_run", hex, "output")
	slurm2 := mk("shared", "llmops", "runs", "evaluation", hex, "attempt-2", "output")
	mk("shared", "llmops", "runs", "evaluation", hex, "attempt-10", "output")
	slurm10 := filepath.Join(root, "shared", "llmops", "runs", "evaluation", hex, "attempt-10", "output")
	mk("shared", "llmops", "runs", "evaluation", hex, "attempt-x")
	roots := []string{filepath.Join(root, "store", "runs", "local"), filepath.Join(root, "shared", "llmops", "runs")}
	stored := filepath.Join(root, "store", "objects", "sha256", "ab", "cd")

	for _, tc := range []struct {
		name                    string
		logPath, kind, identity string
		want                    string
	}{
		{"running: beside the log", filepath.Join(filepath.Dir(slurm2), jobs.LogFile), "evaluation", "sha256:" + hex, slurm2},
		{"finished: by identity", stored, "training_run", "sha256:" + hex, local},
		{"finished: newest attempt", stored, "evaluation", "sha256:" + hex, slurm10},
		{"a log that is not a run's falls back to the identity", filepath.Join(root, "elsewhere", jobs.LogFile), "training_run", "sha256:" + hex, local},
		{"unknown identity", stored, "training_run", "sha256:ff", ""},
		{"no identity", stored, "training_run", "", ""},
		{"identity escaping the root", stored, "training_run", "sha256:../../x", ""},
		{"kind escaping the root", stored, "../x", "sha256:" + hex, ""},
	} {
		if got := jobs.FindOutputDir(tc.logPath, tc.kind, tc.identity, roots); got != tc.want {
			t.Errorf("%s: FindOutputDir = %q, want %q", tc.name, got, tc.want)
		}
	}
}
