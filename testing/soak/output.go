package soak

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// WriteCSV writes one row per sample: seconds since the start, whether
// the load ran, events/s offered, acknowledged, refused (503) and decoded,
// the Pub/Sub backlog and its oldest message's age, the latest marker
// delay, the stack's summed RSS (MiB), then CPU (cores) and RSS (MiB) per
// process.
func WriteCSV(w io.Writer, samples []Sample) error {
	cw := csv.NewWriter(w)
	head := []string{"seconds", "load", "offered_per_s", "acked_per_s", "refused_per_s", "decoded_per_s",
		"backlog_messages", "backlog_oldest_s", "delay_s", "stack_rss_mib"}
	for _, p := range Processes {
		head = append(head, p+"_cpu_cores", p+"_rss_mib")
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	f := func(v float64, prec int) string { return strconv.FormatFloat(v, 'f', prec, 64) }
	for _, s := range samples {
		row := []string{f(s.At.Seconds(), 1), strconv.FormatBool(s.Load), f(s.OfferedRate, 0), f(s.AckedRate, 0), f(s.RefusedRate, 0),
			f(s.DecodedRate, 0), strconv.FormatInt(s.Backlog, 10), f(s.BacklogAge.Seconds(), 1), f(s.Delay.Seconds(), 2),
			f(float64(s.StackRSS())/(1<<20), 1)}
		for _, p := range Processes {
			row = append(row, f(s.CPU[p], 3), f(float64(s.RSS[p])/(1<<20), 1))
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteSVG plots throughput, the Pub/Sub backlog, end-to-end delay, RSS
// and CPU per process over time, one panel each, sharing the time axis
// (minutes).
func WriteSVG(w io.Writer, title string, samples []Sample) error {
	c := vgsvg.New(plotWidth, plotHeight)
	if err := drawPanels(c, title, samples); err != nil {
		return err
	}
	_, err := c.WriteTo(w)
	return err
}

// WritePNG draws the same plot as WriteSVG as a PNG.
func WritePNG(w io.Writer, title string, samples []Sample) error {
	c := vgimg.New(plotWidth, plotHeight)
	if err := drawPanels(c, title, samples); err != nil {
		return err
	}
	_, err := vgimg.PngCanvas{Canvas: c}.WriteTo(w)
	return err
}

const (
	plotWidth  = 24 * vg.Centimeter
	plotHeight = 45 * vg.Centimeter
)

func drawPanels(c vg.CanvasSizer, title string, samples []Sample) error {
	minutes := func(s Sample) float64 { return s.At.Minutes() }
	series := func(y func(Sample) float64) plotter.XYs {
		xy := make(plotter.XYs, 0, len(samples))
		for _, s := range samples {
			xy = append(xy, plotter.XY{X: minutes(s), Y: y(s)})
		}
		return xy
	}
	panel := func(t, ylabel string) *plot.Plot {
		p := plot.New()
		p.Title.Text = t
		p.Y.Label.Text = ylabel
		p.X.Label.Text = "minutes since the load started"
		p.Y.Min = 0
		p.Add(plotter.NewGrid())
		p.Legend.Top = true
		p.Legend.Left = true
		return p
	}
	addLines := func(p *plot.Plot, names []string, ys []plotter.XYs) error {
		for i, name := range names {
			l, err := plotter.NewLine(ys[i])
			if err != nil {
				return err
			}
			l.Color = plotutil.Color(i)
			l.Dashes = plotutil.Dashes(i / 7)
			l.Width = vg.Points(1.2)
			p.Add(l)
			p.Legend.Add(name, l)
		}
		// Headroom above the data for the legend.
		p.Y.Max *= 1 + 0.12*float64(len(names)+1)
		return nil
	}

	thr := panel(title+" — throughput", "events/s")
	if err := addLines(thr, []string{"offered", "acknowledged by ingest", "refused with 503 (each attempt)", "decoded by the streaming job"}, []plotter.XYs{
		series(func(s Sample) float64 { return s.OfferedRate }), series(func(s Sample) float64 { return s.AckedRate }),
		series(func(s Sample) float64 { return s.RefusedRate }), series(func(s Sample) float64 { return s.DecodedRate })}); err != nil {
		return err
	}
	backlog := panel("Pub/Sub backlog of the pipeline's subscription", "thousand messages / seconds")
	if err := addLines(backlog, []string{"unacknowledged messages (thousands)", "oldest unacknowledged (seconds)"}, []plotter.XYs{
		series(func(s Sample) float64 { return float64(max(s.Backlog, 0)) / 1000 }),
		series(func(s Sample) float64 { return s.BacklogAge.Seconds() })}); err != nil {
		return err
	}
	delay := panel("end-to-end delay (marker sent → counted by the query API)", "seconds")
	if err := addLines(delay, []string{"latest marker"}, []plotter.XYs{
		series(func(s Sample) float64 { return s.Delay.Seconds() })}); err != nil {
		return err
	}
	rss := panel("resident memory per process", "MiB")
	cpu := panel("CPU per process", "cores")
	var rssXY, cpuXY []plotter.XYs
	for _, p := range Processes {
		rssXY = append(rssXY, series(func(s Sample) float64 { return float64(s.RSS[p]) / (1 << 20) }))
		cpuXY = append(cpuXY, series(func(s Sample) float64 { return s.CPU[p] }))
	}
	rssXY = append(rssXY, series(func(s Sample) float64 { return float64(s.StackRSS()) / (1 << 20) }))
	if err := addLines(rss, append(slices.Clone(Processes), "stack (sum, soak excluded)"), rssXY); err != nil {
		return err
	}
	if err := addLines(cpu, Processes, cpuXY); err != nil {
		return err
	}

	plots := [][]*plot.Plot{{thr}, {backlog}, {delay}, {rss}, {cpu}}
	dc := draw.New(c)
	tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 6,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 4}
	canvases := plot.Align(plots, tiles, dc)
	for i := range plots {
		plots[i][0].Draw(canvases[i][0])
	}
	return nil
}

// Percentile returns the p-th percentile (0..1) of ds (nearest rank; 0
// when empty).
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(p*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// Growth is how much a memory figure grew over the first and over the
// last Window of the load (each point the mean of the minute before it;
// the start, of the first minute).
type Growth struct {
	Window      time.Duration
	First, Last int64 // bytes
}

// OK is the soak's memory target: the last window grows by at most 5 % of
// what the first grew (issue 22), and by nothing when the first did not grow.
func (g Growth) OK() bool { return g.Last <= max(g.First, 0)/20 }

// LoadGrowth computes the growth of f over the load's samples, with Window
// 30 minutes, or half the load when it is shorter.
func LoadGrowth(samples []Sample, f func(Sample) int64) Growth {
	var load []Sample
	for _, s := range samples {
		if s.Load {
			load = append(load, s)
		}
	}
	if len(load) == 0 {
		return Growth{}
	}
	end := load[len(load)-1].At
	w := min(30*time.Minute, (end / 2).Round(time.Second))
	at := func(from, to time.Duration) float64 {
		return mean(window(load, from, to), func(s Sample) float64 { return float64(f(s)) })
	}
	const m = time.Minute
	start := at(0, m)
	return Growth{Window: w,
		First: int64(at(w-m, w) - start),
		Last:  int64(at(end-m, end+time.Nanosecond) - at(end-w, end-w+m))}
}

// Summary is the result as Markdown: the load, the delay percentiles, the
// checks, the backlog and, per process, RSS and CPU over the first and the
// last minute of the load and RSS growth over its first and last windows.
func (r *Result) Summary() string {
	var b strings.Builder
	c := r.Config
	var load []Sample
	for _, s := range r.Samples {
		if s.Load {
			load = append(load, s)
		}
	}
	var phases []string
	for _, p := range c.Phases {
		phases = append(phases, fmt.Sprintf("%.0f events/s for %s", p.Rate, p.Duration))
	}
	fmt.Fprintf(&b, "- load: %s (batches of %d, %d in flight), %.0f events/s acknowledged on average; %d requests, statuses %v\n",
		strings.Join(phases, ", then "), c.BatchSize, c.Concurrency, mean(load, func(s Sample) float64 { return s.AckedRate }), r.Stats.Requests, r.Stats.ByStatus)
	if c.PipelineCPU > 0 {
		fmt.Fprintf(&b, "- the streaming job was capped at %.2g cores (a cgroup)\n", c.PipelineCPU)
	}
	fmt.Fprintf(&b, "- hours the events fall in: %s\n", strings.Join(sorted(r.Hours), ", "))
	fmt.Fprintf(&b, "- end-to-end delay over %d of %d markers (the others were not counted before the load ended): p50 %.1f s, p90 %.1f s, p99 %.1f s, max %.1f s\n", len(r.Delays), r.Markers,
		Percentile(r.Delays, 0.5).Seconds(), Percentile(r.Delays, 0.9).Seconds(), Percentile(r.Delays, 0.99).Seconds(), Percentile(r.Delays, 1).Seconds())
	var maxBacklog int64
	var maxAge time.Duration
	for _, s := range r.Samples {
		maxBacklog, maxAge = max(maxBacklog, s.Backlog), max(maxAge, s.BacklogAge)
	}
	fmt.Fprintf(&b, "- Pub/Sub backlog: at most %d messages, oldest at most %.0f s; %d requests answered 503 (back-pressure or Pub/Sub unavailable); ingest switched back-pressure on %d times\n",
		maxBacklog, maxAge.Seconds(), r.Stats.ByStatus[503], r.BackpressureOn)
	fmt.Fprintf(&b, "- events: sent %d, acknowledged %d (abandoned %d), expected (non-crawler) %d\n",
		r.Stats.Events+int64(r.Markers), r.Acked, r.Stats.Abandoned, r.Expected)
	fmt.Fprintf(&b, "- provisional values: counted %d, lost %d, duplicated %d; matched %.0f s after the load ended%s\n",
		r.ProvisionalCounted, r.ProvisionalLost, r.ProvisionalDuplicated, r.Drain.Seconds(), diffNote(r.ProvisionalDiff))
	if c.Sealed {
		how := ""
		if r.SealedNow {
			how = " (sealed by one sealer pass run after the load, -seal-now)"
		}
		fmt.Fprintf(&b, "- **sealed values**: counted %d, lost %d, duplicated %d; every hour sealed and equal %.0f s after the load ended%s%s\n",
			r.SealedCounted, r.SealedLost, r.SealedDuplicated, (r.Drain + r.SealWait).Seconds(), how, diffNote(r.SealedDiff))
	}
	fmt.Fprintf(&b, "- raw archive: %d acknowledged events missing, %d extra copies (redeliveries)\n", r.ArchiveMissing, r.ArchiveCopies)
	if len(load) == 0 {
		return b.String()
	}
	g := LoadGrowth(r.Samples, Sample.StackRSS)
	verdict := "met"
	if !g.OK() {
		verdict = "NOT met"
	}
	fmt.Fprintf(&b, "- stack RSS (soak excluded) grew %.0f MiB in the first %s of the load and %.0f MiB in the last %s: the target (at most 5 %% of the first) is %s\n",
		float64(g.First)/(1<<20), g.Window, float64(g.Last)/(1<<20), g.Window, verdict)
	fmt.Fprintf(&b, "\n| process | RSS first minute | RSS last minute | RSS growth, first %s | RSS growth, last %s | CPU first minute | CPU last minute |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n", g.Window, g.Window)
	end := load[len(load)-1].At
	first, last := window(load, 0, time.Minute), window(load, end-time.Minute, end+time.Second)
	for _, p := range Processes {
		rss := func(s Sample) int64 { return s.RSS[p] }
		pg := LoadGrowth(r.Samples, rss)
		fmt.Fprintf(&b, "| %s | %.0f MiB | %.0f MiB | %+.0f MiB | %+.0f MiB | %.2f cores | %.2f cores |\n", p,
			mean(first, func(s Sample) float64 { return float64(s.RSS[p]) / (1 << 20) }),
			mean(last, func(s Sample) float64 { return float64(s.RSS[p]) / (1 << 20) }),
			float64(pg.First)/(1<<20), float64(pg.Last)/(1<<20),
			mean(first, func(s Sample) float64 { return s.CPU[p] }), mean(last, func(s Sample) float64 { return s.CPU[p] }))
	}
	return b.String()
}

func sorted(ss []string) []string {
	out := slices.Clone(ss)
	slices.Sort(out)
	return out
}

func diffNote(d string) string {
	if d == "" {
		return ""
	}
	return " — NOT MATCHED: " + d
}

func window(ss []Sample, from, to time.Duration) []Sample {
	var out []Sample
	for _, s := range ss {
		if s.At >= from && s.At < to {
			out = append(out, s)
		}
	}
	return out
}

func mean(ss []Sample, f func(Sample) float64) float64 {
	if len(ss) == 0 {
		return 0
	}
	var t float64
	for _, s := range ss {
		t += f(s)
	}
	return t / float64(len(ss))
}

// WriteFiles writes name.csv, name.svg, name.png (the samples) and name.md
// (the summary) into dir.
func WriteFiles(dir, name, title string, r *Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	write := func(file string, f func(io.Writer) error) error {
		w, err := os.Create(filepath.Join(dir, file))
		if err != nil {
			return err
		}
		if err := f(w); err != nil {
			w.Close()
			return fmt.Errorf("write %s: %w", file, err)
		}
		return w.Close()
	}
	return errors.Join(
		write(name+".csv", func(w io.Writer) error { return WriteCSV(w, r.Samples) }),
		write(name+".svg", func(w io.Writer) error { return WriteSVG(w, title, r.Samples) }),
		write(name+".png", func(w io.Writer) error { return WritePNG(w, title, r.Samples) }),
		write(name+".md", func(w io.Writer) error { _, err := io.WriteString(w, r.Summary()); return err }),
	)
}

// Failures lists the checks the run failed: anything acknowledged lost or
// counted twice (provisionally, sealed, or missing from the archive), a
// batch abandoned, and — with rssTarget — stack memory still growing.
func (r *Result) Failures(rssTarget bool) []string {
	var out []string
	if r.ProvisionalDiff != "" || r.ProvisionalLost != 0 || r.ProvisionalDuplicated != 0 {
		out = append(out, fmt.Sprintf("provisional values: lost %d, duplicated %d (%s)", r.ProvisionalLost, r.ProvisionalDuplicated, r.ProvisionalDiff))
	}
	if r.Config.Sealed && (r.SealedDiff != "" || r.SealedLost != 0 || r.SealedDuplicated != 0) {
		out = append(out, fmt.Sprintf("sealed values: lost %d, duplicated %d (%s)", r.SealedLost, r.SealedDuplicated, r.SealedDiff))
	}
	if r.ArchiveMissing != 0 {
		out = append(out, fmt.Sprintf("%d acknowledged events missing from the raw archive", r.ArchiveMissing))
	}
	if r.Stats.Abandoned != 0 {
		out = append(out, fmt.Sprintf("%d events abandoned by the sender after retrying for %s", r.Stats.Abandoned, r.Config.GiveUp))
	}
	if r.Stats.RetryAfterMissing != 0 {
		out = append(out, fmt.Sprintf("%d answers 429/503 without Retry-After", r.Stats.RetryAfterMissing))
	}
	if g := LoadGrowth(r.Samples, Sample.StackRSS); rssTarget && !g.OK() {
		out = append(out, fmt.Sprintf("stack RSS grew %d MiB in the last %s of the load, more than 5 %% of the %d MiB of the first", g.Last>>20, g.Window, g.First>>20))
	}
	return out
}
