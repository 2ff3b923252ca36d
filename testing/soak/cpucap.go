package soak

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/footfall/footfall/testing/localstack"
)

// cgroupRoot is where the cgroup file systems are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// cpuCap holds one process of the stack (its current incarnation, re-added
// after a restart) in a cgroup limited to a number of cores: Linux's CFS
// bandwidth control, through cgroup v1's cpu controller or cgroup v2's
// cpu.max. Root only. An overload run uses it to offer more than the
// streaming job takes on a machine where the load generator and ingest
// cannot outrun an uncapped job (docs/reliability.md).
type cpuCap struct {
	dir   string // the group's directory
	procs string // the file a pid is written to, to move it in
	back  string // the parent's procs file, to move it out
	last  int
}

// newCPUCap creates a cgroup limited to cores CPUs.
func newCPUCap(cores float64) (*cpuCap, error) {
	if cores <= 0 {
		return nil, errors.New("soak: the CPU cap must be positive")
	}
	const period = 100000 // µs
	quota := int(cores * period)
	// The parent hierarchy and the files that set the limit in it:
	// cgroup v1's cpu controller, else cgroup v2's cpu.max.
	parent := filepath.Join(cgroupRoot, "cpu")
	limits := [][2]string{{"cpu.cfs_period_us", strconv.Itoa(period)}, {"cpu.cfs_quota_us", strconv.Itoa(quota)}}
	if !exists(filepath.Join(parent, "cpu.cfs_quota_us")) {
		ctl, err := os.ReadFile(filepath.Join(cgroupRoot, "cgroup.controllers"))
		if err != nil || !slices.Contains(strings.Fields(string(ctl)), "cpu") {
			return nil, errors.New("soak: no cgroup cpu controller on this machine (cgroup v1 cpu or v2 cpu.max is needed to cap a process's CPU)")
		}
		if err := write(filepath.Join(cgroupRoot, "cgroup.subtree_control"), "+cpu"); err != nil {
			return nil, err
		}
		parent = cgroupRoot
		limits = [][2]string{{"cpu.max", fmt.Sprintf("%d %d", quota, period)}}
	}
	dir := filepath.Join(parent, fmt.Sprintf("footfall-soak-%d", os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("soak: create a cgroup (root is needed): %w", err)
	}
	c := &cpuCap{dir: dir, procs: filepath.Join(dir, "cgroup.procs"), back: filepath.Join(parent, "cgroup.procs")}
	for _, l := range limits {
		if err := write(filepath.Join(dir, l[0]), l[1]); err != nil {
			c.remove()
			return nil, err
		}
	}
	return c, nil
}

// hold puts pid in the group unless it is there already.
func (c *cpuCap) hold(pid int) error {
	if pid <= 0 || pid == c.last {
		return nil
	}
	if err := write(c.procs, strconv.Itoa(pid)); err != nil {
		return err
	}
	c.last = pid
	return nil
}

// keep holds the named process of st in the group, checking every second
// for a new incarnation, until ctx ends; then it removes the group.
func (c *cpuCap) keep(ctx context.Context, st *localstack.Stack, name string, log *slog.Logger) {
	defer c.remove()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		if err := c.hold(st.PID(name)); err != nil {
			log.Warn("soak: cannot cap the process's CPU", "process", name, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// remove moves what is left in the group back to its parent and deletes it.
func (c *cpuCap) remove() {
	if b, err := os.ReadFile(c.procs); err == nil {
		for _, pid := range strings.Fields(string(b)) {
			_ = write(c.back, pid)
		}
	}
	_ = os.Remove(c.dir)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func write(path, v string) error {
	if err := os.WriteFile(path, []byte(v), 0o644); err != nil {
		return fmt.Errorf("soak: write %s: %w", path, err)
	}
	return nil
}
