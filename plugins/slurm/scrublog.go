package slurm

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/llmops/llmops/plugins/sdk/scrub"
)

// scrubLog rewrites a finished job's log (which Slurm writes as the
// command prints it) with every secret replaced by "(sensitive)", before
// llmops reads its tail or copies it into the artifact store. The new file
// keeps the old one's owner, is readable by it alone, and replaces it by
// rename.
func scrubLog(path string, secrets *scrub.Set) {
	if secrets.Len() == 0 {
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	clean := secrets.String(string(b))
	if clean == string(b) {
		return
	}
	fi, err := os.Stat(path)
	if err != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".job.log.*")
	if err != nil {
		return
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, bytes.NewReader([]byte(clean))); err != nil {
		tmp.Close()
		return
	}
	_ = tmp.Chmod(fi.Mode().Perm() &^ 0o077)
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
		_ = tmp.Chown(int(st.Uid), int(st.Gid))
	}
	if tmp.Close() == nil {
		_ = os.Rename(tmp.Name(), path)
	}
}
