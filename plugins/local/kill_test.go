package local_test

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// killRecorded kills the supervisor and the job group recorded in a
// supervisor.json, if they still run and are still those processes (their
// start times match), so a test never signals a process it did not start.
func killRecorded(path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	var s struct {
		PID        int    `json:"pid"`
		PStart     uint64 `json:"pstart"`
		ChildPID   int    `json:"child_pid"`
		ChildStart uint64 `json:"child_pstart"`
	}
	if json.Unmarshal(b, &s) != nil {
		return
	}
	if s.ChildPID > 0 && startOf(s.ChildPID) == s.ChildStart && s.ChildStart != 0 {
		_ = syscall.Kill(-s.ChildPID, syscall.SIGKILL)
	}
	if s.PID > 0 && startOf(s.PID) == s.PStart && s.PStart != 0 {
		_ = syscall.Kill(s.PID, syscall.SIGKILL)
	}
}

func startOf(pid int) uint64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 20 {
		return 0
	}
	v, _ := strconv.ParseUint(f[19], 10, 64)
	return v
}

// alive reports whether pid runs and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && f[0] != "Z"
}
