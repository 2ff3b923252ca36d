package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/footfall/footfall/pipelines/seal"
)

// The log-mode progress line of a chunk says how far the run is and, for a
// chunk split by visitor, how long the split took, so that an operator can
// tell the spill from the jobs.
func TestProgressLines(t *testing.T) {
	var buf bytes.Buffer
	d := newProgress("log", 4, slog.New(slog.NewJSONHandler(&buf, nil)))
	defer d.stop()
	h := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	d.chunk(seal.Chunk{From: h, To: h.Add(time.Hour), Hours: 1, EventsRead: 10, Duration: time.Second})
	d.chunk(seal.Chunk{From: h.Add(time.Hour), To: h.Add(4 * time.Hour), Hours: 3, EventsRead: 3_000_000,
		Duration: 90 * time.Second, VisitorShards: 4, SpilledEvents: 2_900_000, SpillDuration: 20 * time.Second})
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want one per chunk:\n%s", len(lines), buf.String())
	}
	var first, second map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &second); err != nil {
		t.Fatal(err)
	}
	if first["hours_done"] != 1.0 || first["hours"] != 4.0 || first["visitor_shards"] != nil {
		t.Errorf("first line %v: want hours_done 1 of 4 and no visitor-shard fields", first)
	}
	if second["hours_done"] != 4.0 || second["visitor_shards"] != 4.0 || second["events_spilled"] != 2.9e6 || second["spill_seconds"] != 20.0 {
		t.Errorf("second line %v: want hours_done 4, visitor_shards 4, events_spilled 2900000, spill_seconds 20", second)
	}
}
