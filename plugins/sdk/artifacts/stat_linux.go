package artifacts

import (
	"os"
	"syscall"
)

func statOf(fi os.FileInfo) fileStat {
	st := fileStat{size: fi.Size(), mtime: fi.ModTime().UnixNano(), mode: fi.Mode()}
	if s, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.dev, st.ino = uint64(s.Dev), s.Ino
		st.ctime = s.Ctim.Sec*1e9 + s.Ctim.Nsec
	}
	return st
}
