//go:build unix

package discovery

import (
	"os"
	"syscall"
	"time"
)

// fileID identifies a file's contents without reading them: any write
// changes Size, MtimeNS or CtimeNS, and a replacement Dev or Ino.
type fileID struct {
	Path    string `json:"path"`
	Dev     uint64 `json:"dev"`
	Ino     uint64 `json:"ino"`
	Size    int64  `json:"size"`
	MtimeNS int64  `json:"mtime_ns"`
	CtimeNS int64  `json:"ctime_ns"`
}

func statID(path string) (fileID, bool) {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return fileID{}, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{
		Path: path, Dev: uint64(st.Dev), Ino: uint64(st.Ino), Size: st.Size,
		MtimeNS: fi.ModTime().UnixNano(), CtimeNS: time.Unix(int64(st.Ctim.Sec), int64(st.Ctim.Nsec)).UnixNano(),
	}, true
}

func (id fileID) settled() bool {
	return time.Since(time.Unix(0, id.CtimeNS)) >= settleTime && time.Since(time.Unix(0, id.MtimeNS)) >= settleTime
}
