package jobs

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
)

// CheckpointsDir is where a job keeps its checkpoints, one directory each,
// under LLMOPS_OUTPUT_DIR: a provider that runs the job again (a retry
// after preemption or a node failure) passes the latest one as
// LLMOPS_RESUME_FROM.
const CheckpointsDir = "checkpoints"

// LatestCheckpoint returns the latest checkpoint directory under
// outputDir/checkpoints, or "" when there is none: "latest" when it exists
// (a directory or a link to one), else the directory whose name sorts last
// with digit runs compared as numbers (step-900 before step-1000, epoch-002
// after epoch-001). Names starting with "." (checkpoints being written)
// are skipped.
func LatestCheckpoint(outputDir string) string {
	root := filepath.Join(outputDir, CheckpointsDir)
	if fi, err := os.Stat(filepath.Join(root, "latest")); err == nil && fi.IsDir() {
		return filepath.Join(root, "latest")
	}
	des, err := os.ReadDir(root)
	if err != nil {
		return ""
	}
	best := ""
	for _, de := range des {
		name := de.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		if fi, err := os.Stat(filepath.Join(root, name)); err != nil || !fi.IsDir() {
			continue
		}
		if best == "" || naturalLess(best, name) {
			best = name
		}
	}
	if best == "" {
		return ""
	}
	return filepath.Join(root, best)
}

// naturalLess compares names with their digit runs as numbers.
func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := unicode.IsDigit(rune(a[0])), unicode.IsDigit(rune(b[0]))
		if da && db {
			ra, rb := digitRun(a), digitRun(b)
			na, _ := strconv.ParseUint(strings.TrimLeft(ra, "0")+"0", 10, 64)
			nb, _ := strconv.ParseUint(strings.TrimLeft(rb, "0")+"0", 10, 64)
			if na != nb {
				return na < nb
			}
			a, b = a[len(ra):], b[len(rb):]
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func digitRun(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}
