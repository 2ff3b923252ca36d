package counters_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Every pipeline counter goes through counters.New, so that it reaches the
// process's /metrics as well as Beam's metrics (which Prism reports only
// when a job ends, never for a streaming job): a beam.NewCounter anywhere
// else in the module is a counter the operators cannot see.
func TestCountersAreDefinedOnce(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	direct := regexp.MustCompile(`\bbeam\.NewCounter\(|\bmetrics\.NewCounter\(`)
	self, _ := filepath.Abs(".")
	var found []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); name == "node_modules" || name == "data" || (strings.HasPrefix(name, ".") && path != root) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		if abs, _ := filepath.Abs(filepath.Dir(path)); abs == self {
			return nil // counters.New itself
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			if direct.MatchString(line) {
				found = append(found, path+":"+strconv.Itoa(i+1)+": "+strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		t.Errorf("a counter created outside pipelines/internal/counters (use counters.New): %s", f)
	}
}
