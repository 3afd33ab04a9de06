package discovery

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	"github.com/llmops/llmops/plugins/sdk/jobs"
)

// A verified record (dir/<sha256>/verified.json) remembers that, at one
// moment, the provider binary at a path had the same bytes as the cached
// copy beside the record, and that the copy hashed to <sha256>. While
// neither file's identity changes (device, inode, size, modification and
// change times, see fileID) the check need not read them again: a write
// to either changes its change time, which only the kernel sets. Both
// files are at least settleTime old when recorded, so a write in the same
// clock tick as the check cannot go unnoticed.
type verifiedRecord struct {
	Source fileID `json:"source"`
	Copy   fileID `json:"copy"`
}

const verifiedName = "verified.json"

// settleTime is how old (by change time) both files must be to be
// recorded as verified.
var settleTime = 2 * time.Second

// isVerified reports whether the record beside copyPath vouches for path
// and copyPath as they are now.
func isVerified(path, copyPath string) bool {
	b, err := os.ReadFile(filepath.Join(filepath.Dir(copyPath), verifiedName))
	if err != nil {
		return false
	}
	var r verifiedRecord
	if json.Unmarshal(b, &r) != nil {
		return false
	}
	src, ok1 := statID(path)
	cp, ok2 := statID(copyPath)
	return ok1 && ok2 && src == r.Source && cp == r.Copy
}

// recordVerified writes the record after a full check of path against
// copyPath, if both have settled. Failing to write it only costs the next
// run a full check.
func recordVerified(path, copyPath string) {
	src, ok1 := statID(path)
	cp, ok2 := statID(copyPath)
	if !ok1 || !ok2 || !src.settled() || !cp.settled() {
		return
	}
	b, _ := json.Marshal(verifiedRecord{Source: src, Copy: cp})
	_ = jobs.WriteFileAtomic(filepath.Join(filepath.Dir(copyPath), verifiedName), b, 0o600)
}

// forgetVerified removes the record beside copyPath.
func forgetVerified(copyPath string) {
	_ = os.Remove(filepath.Join(filepath.Dir(copyPath), verifiedName))
}
