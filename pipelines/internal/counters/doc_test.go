package counters_test

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/footfall/footfall/pipelines/internal/counters"
	// The packages that define the pipelines' counters.
	_ "github.com/footfall/footfall/pipelines/io/archive"
	_ "github.com/footfall/footfall/pipelines/io/bqarchive"
	_ "github.com/footfall/footfall/pipelines/io/btsink"
	_ "github.com/footfall/footfall/pipelines/io/pubsubpull"
	_ "github.com/footfall/footfall/pipelines/transforms"
)

// docs/pipeline.md's counter table says each counter is mirrored into a
// process-level Prometheus counter: each it lists must be defined through
// this package (counters.New), and each defined one must be listed.
func TestDocumentedCountersAreMirrored(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "..", "..", "docs", "pipeline.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	defined := map[string]bool{}
	for _, n := range counters.Names() {
		defined[n] = true
	}
	cell := regexp.MustCompile("`([a-z_]+)`")
	in, listed := false, map[string]bool{}
	for sc := bufio.NewScanner(f); sc.Scan(); {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			in = strings.TrimSpace(line) == "## Counters"
			continue
		}
		if !in || !strings.HasPrefix(line, "| `") {
			continue
		}
		first := strings.SplitN(line, "|", 3)[1]
		for _, m := range cell.FindAllStringSubmatch(first, -1) {
			listed[m[1]] = true
			if !defined[m[1]] {
				t.Errorf("docs/pipeline.md lists counter %s as mirrored, but it is not defined with counters.New", m[1])
			}
		}
	}
	for n := range defined {
		if strings.HasPrefix(n, "test_") {
			continue // defined by this package's own tests
		}
		if !listed[n] {
			t.Errorf("counter %s is not in docs/pipeline.md's counter table", n)
		}
	}
}
