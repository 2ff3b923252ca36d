package soak

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"strings"
	"testing"
	"time"
)

func samples() []Sample {
	var out []Sample
	for i := 1; i <= 30; i++ {
		s := Sample{At: time.Duration(i) * 5 * time.Second, Load: true, OfferedRate: 4000, AckedRate: 4000, Backlog: int64(100 * i), BacklogAge: time.Second, DecodedRate: 3900 + float64(i), Delay: time.Duration(10+i%3) * time.Second,
			CPU: map[string]float64{}, RSS: map[string]int64{}}
		for j, p := range Processes {
			s.CPU[p] = 0.1 * float64(j)
			s.RSS[p] = int64(100+10*i+j) << 20
		}
		out = append(out, s)
	}
	return out
}

func TestPercentile(t *testing.T) {
	ds := []time.Duration{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	tests := []struct {
		p    float64
		want time.Duration
	}{{0.5, 5}, {0.9, 9}, {0.99, 10}, {1, 10}, {0, 1}}
	for _, tc := range tests {
		if got := Percentile(ds, tc.p); got != tc.want {
			t.Errorf("Percentile(%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
	if got := Percentile(nil, 0.5); got != 0 {
		t.Errorf("Percentile(nil) = %v, want 0", got)
	}
}

func TestCSVHasAColumnPerProcessMetric(t *testing.T) {
	var b bytes.Buffer
	ss := samples()
	if err := WriteCSV(&b, ss); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(ss)+1 || len(rows[0]) != 10+2*len(Processes) {
		t.Fatalf("%d rows of %d columns, want %d of %d", len(rows), len(rows[0]), len(ss)+1, 10+2*len(Processes))
	}
	// Stack RSS at i = 1: pubsub..queryapi (j = 0..5) = 6 × 110 + 15 MiB.
	if got, want := strings.Join([]string{rows[1][0], rows[1][1], rows[1][3], rows[1][6], rows[1][8], rows[1][9]}, " "), "5.0 true 4000 100 11.00 675.0"; got != want {
		t.Errorf("first row %q, want %q", got, want)
	}
}

func TestSVGIsWellFormedWithEveryPanel(t *testing.T) {
	var b bytes.Buffer
	if err := WriteSVG(&b, "soak", samples()); err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(bytes.NewReader(b.Bytes()))
	for {
		_, err := d.Token()
		if err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("not well-formed XML: %v", err)
			}
			break
		}
	}
	for _, title := range []string{"throughput", "Pub/Sub backlog", "end-to-end delay", "resident memory", "CPU per process"} {
		if !strings.Contains(b.String(), title) {
			t.Errorf("plot lacks the panel %q", title)
		}
	}
}

func TestSummaryFirstAndLastMinute(t *testing.T) {
	r := &Result{Config: Config{Phases: []Phase{{Rate: 4000, Duration: 150 * time.Second}}, BatchSize: 100, Concurrency: 8}, Samples: samples(),
		Delays: []time.Duration{10 * time.Second, 12 * time.Second}, Markers: 2}
	s := r.Summary()
	// RSS of pubsub-emulator (j = 0): first minute samples i = 1..11 → mean 160 MiB; last minute [90 s, 150 s] i = 18..30 → 340 MiB.
	for _, want := range []string{"| pubsub-emulator | 160 MiB | 340 MiB |", "p50 10.0 s", "max 12.0 s"} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
}

func TestPNGIsAPNG(t *testing.T) {
	var b bytes.Buffer
	if err := WritePNG(&b, "soak", samples()); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b.Bytes(), []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("not a PNG: % x", b.Bytes()[:8])
	}
}

// LoadGrowth compares the growth of the first and the last window of the
// load; the target is met when the last grows by at most 5 % of the first.
func TestLoadGrowth(t *testing.T) {
	const mib = 1 << 20
	// series builds a 90-minute load sampled every 5 s (plus 10 minutes
	// after it) whose value at minute m is f(m) MiB.
	series := func(f func(m float64) float64) []Sample {
		var out []Sample
		for at := 5 * time.Second; at <= 100*time.Minute; at += 5 * time.Second {
			out = append(out, Sample{At: at, Load: at <= 90*time.Minute, RSS: map[string]int64{"x": int64(f(at.Minutes()) * mib)}})
		}
		return out
	}
	tests := []struct {
		name              string
		f                 func(m float64) float64
		wantFirst, wantOK bool // first window grew; target met
	}{
		{"linear growth", func(m float64) float64 { return 100 + 10*m }, true, false},
		{"grows, then flat", func(m float64) float64 { return 100 + 10*min(m, 20) }, true, true},
		{"flat", func(float64) float64 { return 100 }, false, true},
		{"flat, then grows at the end", func(m float64) float64 { return 100 + 10*max(m-80, 0) }, false, false},
		// After the load (minutes 90-100) it may grow: not counted.
		{"grows only after the load", func(m float64) float64 { return 100 + 10*max(m-90, 0) }, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := LoadGrowth(series(tc.f), func(s Sample) int64 { return s.RSS["x"] })
			if g.Window != 30*time.Minute {
				t.Errorf("window %s, want 30m", g.Window)
			}
			if (g.First > mib) != tc.wantFirst || g.OK() != tc.wantOK {
				t.Errorf("growth first %d MiB, last %d MiB, OK %v; want first growing %v, OK %v", g.First/mib, g.Last/mib, g.OK(), tc.wantFirst, tc.wantOK)
			}
		})
	}
}
