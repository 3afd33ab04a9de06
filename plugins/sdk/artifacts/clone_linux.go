package artifacts

import (
	"os"
	"syscall"
)

// ficlone is the FICLONE ioctl (linux/fs.h): dst shares src's extents.
const ficlone = 0x40049409

// cloneFile makes dst a copy-on-write clone of src (a reflink), where the
// filesystem supports it (btrfs, XFS, bcachefs, ...); ext4 does not.
func cloneFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, out.Fd(), ficlone, in.Fd())
	cerr := out.Close()
	if errno != 0 {
		return errno
	}
	return cerr
}
