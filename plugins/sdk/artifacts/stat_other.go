//go:build !linux && !darwin

package artifacts

import "os"

// Without inode numbers and ctime the cache key is weaker: path, size and
// mtime.
func statOf(fi os.FileInfo) fileStat {
	return fileStat{size: fi.Size(), mtime: fi.ModTime().UnixNano(), mode: fi.Mode()}
}
