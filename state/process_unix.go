//go:build unix

package state

import (
	"errors"
	"syscall"
)

// processGone reports whether no process with that pid exists on this
// host. A process of another user (EPERM) exists.
func processGone(pid int) bool {
	if pid <= 0 {
		return false
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
