//go:build unix

package plugin_test

import "syscall"

// syscall0 checks that a process exists without signalling it.
var syscall0 = syscall.Signal(0)
