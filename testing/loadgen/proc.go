package loadgen

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// ProcStat is a process's CPU time and resident memory, from /proc.
type ProcStat struct {
	CPU     time.Duration // user + system
	PeakRSS int64         // bytes (VmHWM)
	RSS     int64         // bytes now (VmRSS)
}

// ReadProc reads /proc/<pid>/stat and /proc/<pid>/status (Linux).
func ReadProc(pid int) (ProcStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ProcStat{}, fmt.Errorf("loadgen.ReadProc: %w", err)
	}
	// Fields after the command name (which may hold spaces) in parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return ProcStat{}, fmt.Errorf("loadgen.ReadProc: unexpected /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 15 {
		return ProcStat{}, fmt.Errorf("loadgen.ReadProc: short /proc/%d/stat", pid)
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64) // utime, field 14
	st, _ := strconv.ParseInt(f[12], 10, 64) // stime, field 15
	const ticks = 100                        // USER_HZ on Linux
	ps := ProcStat{CPU: time.Duration(ut+st) * time.Second / ticks}
	s, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ProcStat{}, fmt.Errorf("loadgen.ReadProc: %w", err)
	}
	for _, line := range strings.Split(string(s), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			ps.PeakRSS = kiB(v)
		}
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			ps.RSS = kiB(v)
		}
	}
	return ps, nil
}

// kiB parses a /proc/<pid>/status value such as "  1234 kB" into bytes.
func kiB(v string) int64 {
	kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
	return kb << 10
}
