package local

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// procStart returns a process's start time in clock ticks since boot
// (/proc/<pid>/stat field 22), to tell a process from a later one that
// reuses its pid; 0 when unknown (not Linux, or no such process).
func procStart(pid int) uint64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // the command name may hold spaces
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); field 22 is f[19].
	if len(f) < 20 {
		return 0
	}
	v, _ := strconv.ParseUint(f[19], 10, 64)
	return v
}

// sameProcess reports whether pid is alive and, when start is known, is
// the process that had that start time.
func sameProcess(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && err != syscall.EPERM {
		return false
	}
	if start == 0 {
		return true
	}
	now := procStart(pid)
	return now == 0 || now == start
}

// groupAlive reports whether any process of process group pgid lives.
func groupAlive(pgid int) bool {
	if pgid <= 0 {
		return false
	}
	err := syscall.Kill(-pgid, 0)
	return err == nil || err == syscall.EPERM
}
