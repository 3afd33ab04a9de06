package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// checkStateSpace refuses to start an apply that the state's filesystem
// cannot hold: the backup taken first (the database's size) and the new
// records (changes x 4 KiB), plus 1 MiB of room. A full disk otherwise
// stops an apply half-way.
func (m *meta) checkStateSpace(changes int) error {
	if be, _ := m.backend(); be != nil {
		return nil // the records go to the PostgreSQL server, and no backup is taken here
	}
	db := m.stateFile()
	var size int64
	if st, err := os.Stat(db); err == nil {
		size = st.Size()
	}
	if wal, err := os.Stat(db + "-wal"); err == nil {
		size += wal.Size()
	}
	need := size + int64(changes)*4096 + 1<<20
	var fs syscall.Statfs_t
	if err := syscall.Statfs(filepath.Dir(db), &fs); err != nil {
		return nil // cannot tell: let the writes report
	}
	free := int64(fs.Bavail) * int64(fs.Bsize)
	if free < need {
		return fmt.Errorf("only %s free in %s, and this apply needs about %s (a backup of the state and the new records). Free some space, or move the state with -state PATH; nothing was changed", humanBytes(free), filepath.Dir(db), humanBytes(need))
	}
	return nil
}
