package soak

import (
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestCPUCapHoldsAndReleases puts a child process in a capped group and
// removes the group after it. It needs root and a cgroup cpu controller,
// which only the overload run's -pipeline-cpu uses; elsewhere it says so.
func TestCPUCapHoldsAndReleases(t *testing.T) {
	c, err := newCPUCap(0.5)
	if err != nil {
		t.Skipf("no cgroup to cap CPU here (the overload run's -pipeline-cpu cannot run either): %v", err)
	}
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		c.remove()
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if err := c.hold(cmd.Process.Pid); err != nil {
		c.remove()
		t.Fatal(err)
	}
	b, err := os.ReadFile(c.procs)
	if err != nil || !slices.Contains(strings.Fields(string(b)), strconv.Itoa(cmd.Process.Pid)) {
		t.Errorf("group's processes = %q (%v), want %d in it", b, err, cmd.Process.Pid)
	}
	c.remove()
	if exists(c.dir) {
		t.Errorf("%s still exists after remove", c.dir)
	}
}
