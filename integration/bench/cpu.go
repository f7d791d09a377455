package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// selfCPU is the CPU time this process has used: the meter of the proxies the
// benchmark runs in process (pgmask, the Go forwarder). pgbench runs as a child, whose
// time getrusage(RUSAGE_SELF) does not count, and only one target is under load at a
// time, so a delta over one pgbench run is that target's cost.
func selfCPU() (time.Duration, error) {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0, err
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano()), nil
}

// userHZ is the unit of the times in /proc/PID/stat, fixed at 100 by the Linux ABI
// (proc(5), "clock ticks").
const userHZ = 100

// pidCPU meters another process (PgBouncer) from utime and stime in /proc/PID/stat.
func pidCPU(pid int) func() (time.Duration, error) {
	return func() (time.Duration, error) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return 0, err
		}
		// The command name in field 2 may hold spaces; the fields after it do not.
		s := string(b)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) < 13 {
			return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
		}
		var ticks int64
		for _, f := range fields[11:13] { // utime, stime: fields 14 and 15 of proc(5)
			n, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
			}
			ticks += n
		}
		return time.Duration(ticks) * time.Second / userHZ, nil
	}
}
