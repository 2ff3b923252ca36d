// Package fault runs the whole local stack (testing/localstack: emulators,
// Prism streaming job, sealer, ingest, query API, each its own process)
// under load, injects one fault per test — the streaming job killed (-9),
// the Pub/Sub or Bigtable emulator stopped, ingest killed mid-request or
// restarted with requests in flight, a client retrying batches — and checks
// that once the hours are sealed the query API counts every event that got
// a 2xx exactly once, and nothing else. The ground truth is computed from
// the acknowledged events alone (testing/truth); the load comes from
// loadgen.Sender, which retries each batch with the same message ids.
//
// `go test ./testing/fault` runs short versions (a few thousand events,
// outages of seconds); FOOTFALL_FAULT_FULL=1 (`make fault-full`) runs the
// full versions. docs/reliability.md describes the scenarios and results.
package fault

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
)

// Record is what one scenario measured. Events are distinct events
// (message ids); crawler events are acknowledged but, by design, not
// counted as events (they count as bot events).
type Record struct {
	Scenario string
	// Sent is the distinct events sent; Requests the requests made,
	// retries included.
	Sent, Requests int64
	// Acked is the distinct events acknowledged (2xx, or accepted in a
	// partial 400); Rejected those a 400 refused (never retried).
	Acked, Rejected int64
	// Expected is the acknowledged non-crawler events: what must be
	// counted. Counted is what the query API serves sealed; Lost and
	// Duplicated the per-hour shortfall and excess against Expected.
	Expected, Counted, Lost, Duplicated int64
	// Provisional is what the streaming job's provisional rows held at the
	// end (before sealing replaced them), for comparison.
	Provisional int64
	// Note says what the fault did (e.g. "2 kills, 503s: 41").
	Note string
}

// Records collects the records of a test run.
type Records struct {
	mu   sync.Mutex
	list []Record
}

// Add appends a record.
func (r *Records) Add(rec Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, rec)
}

// last returns the latest record.
func (r *Records) last() Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.list[len(r.list)-1]
}

// Markdown writes the records as a Markdown table, in scenario order.
func (r *Records) Markdown(w io.Writer) {
	r.mu.Lock()
	list := append([]Record(nil), r.list...)
	r.mu.Unlock()
	sort.SliceStable(list, func(i, j int) bool { return list[i].Scenario < list[j].Scenario })
	var b strings.Builder
	b.WriteString("| scenario | sent | requests | acknowledged | rejected (400) | expected (non-crawler) | counted (sealed) | lost | duplicated | provisional at the end | fault |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n")
	for _, x := range list {
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %d | %d | %d | %d | %s |\n", x.Scenario, x.Sent, x.Requests,
			x.Acked, x.Rejected, x.Expected, x.Counted, x.Lost, x.Duplicated, x.Provisional, x.Note)
	}
	io.WriteString(w, b.String())
}
