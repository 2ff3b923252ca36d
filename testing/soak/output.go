package soak

import (
	"encoding/csv"
	"fmt"
	"io"
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

// WriteCSV writes one row per sample: seconds since the start, events/s
// acknowledged and decoded, the latest marker delay, then CPU (cores) and
// RSS (MiB) per process.
func WriteCSV(w io.Writer, samples []Sample) error {
	cw := csv.NewWriter(w)
	head := []string{"seconds", "acked_per_s", "decoded_per_s", "delay_s"}
	for _, p := range Processes {
		head = append(head, p+"_cpu_cores", p+"_rss_mib")
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	f := func(v float64, prec int) string { return strconv.FormatFloat(v, 'f', prec, 64) }
	for _, s := range samples {
		row := []string{f(s.At.Seconds(), 1), f(s.AckedRate, 0), f(s.DecodedRate, 0), f(s.Delay.Seconds(), 2)}
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

// WriteSVG plots throughput, end-to-end delay, RSS and CPU per process
// over time, one panel each, sharing the time axis (minutes).
func WriteSVG(w io.Writer, title string, samples []Sample) error {
	c := vgsvg.New(plotWidth, plotHeight)
	if err := draw4(c, title, samples); err != nil {
		return err
	}
	_, err := c.WriteTo(w)
	return err
}

// WritePNG draws the same plot as WriteSVG as a PNG.
func WritePNG(w io.Writer, title string, samples []Sample) error {
	c := vgimg.New(plotWidth, plotHeight)
	if err := draw4(c, title, samples); err != nil {
		return err
	}
	_, err := vgimg.PngCanvas{Canvas: c}.WriteTo(w)
	return err
}

const (
	plotWidth  = 24 * vg.Centimeter
	plotHeight = 36 * vg.Centimeter
)

func draw4(c vg.CanvasSizer, title string, samples []Sample) error {
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
	if err := addLines(thr, []string{"acknowledged by ingest", "decoded by the streaming job"}, []plotter.XYs{
		series(func(s Sample) float64 { return s.AckedRate }), series(func(s Sample) float64 { return s.DecodedRate })}); err != nil {
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
	if err := addLines(rss, Processes, rssXY); err != nil {
		return err
	}
	if err := addLines(cpu, Processes, cpuXY); err != nil {
		return err
	}

	plots := [][]*plot.Plot{{thr}, {delay}, {rss}, {cpu}}
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

// Summary is the result as Markdown: the load, the delay percentiles, the
// loss check and, per process, RSS and CPU over the first and the last
// minute of the load.
func (r *Result) Summary() string {
	var b strings.Builder
	c := r.Config
	var ackedRate float64
	for _, s := range r.Samples {
		ackedRate += s.AckedRate
	}
	if len(r.Samples) > 0 {
		ackedRate /= float64(len(r.Samples))
	}
	fmt.Fprintf(&b, "- load: %.0f events/s offered for %s (batches of %d, %d in flight), %.0f events/s acknowledged on average; %d requests, statuses %v\n",
		c.Rate, c.Duration, c.BatchSize, c.Concurrency, ackedRate, r.Stats.Requests, r.Stats.ByStatus)
	fmt.Fprintf(&b, "- end-to-end delay over %d of %d markers (the others were not counted before the load ended): p50 %.1f s, p90 %.1f s, p99 %.1f s, max %.1f s\n", len(r.Delays), r.Markers,
		Percentile(r.Delays, 0.5).Seconds(), Percentile(r.Delays, 0.9).Seconds(), Percentile(r.Delays, 0.99).Seconds(), Percentile(r.Delays, 1).Seconds())
	fmt.Fprintf(&b, "- events: sent %d, acknowledged %d (abandoned %d), expected (non-crawler) %d, counted %d, lost %d, duplicated %d; counted everything %.0f s after the load ended%s\n",
		r.Stats.Events+int64(r.Markers), r.Acked, r.Stats.Abandoned, r.Expected, r.Counted, r.Lost, r.Duplicated, r.Drain.Seconds(), diffNote(r.Diff))
	fmt.Fprintf(&b, "- raw archive: %d acknowledged events missing, %d extra copies (redeliveries)\n", r.ArchiveMissing, r.ArchiveCopies)
	if len(r.Samples) == 0 {
		return b.String()
	}
	b.WriteString("\n| process | RSS first minute | RSS last minute | CPU first minute | CPU last minute |\n| --- | ---: | ---: | ---: | ---: |\n")
	first, last := window(r.Samples, 0, time.Minute), window(r.Samples, r.Samples[len(r.Samples)-1].At-time.Minute, r.Samples[len(r.Samples)-1].At+time.Second)
	for _, p := range Processes {
		fmt.Fprintf(&b, "| %s | %.0f MiB | %.0f MiB | %.2f cores | %.2f cores |\n", p,
			mean(first, func(s Sample) float64 { return float64(s.RSS[p]) / (1 << 20) }),
			mean(last, func(s Sample) float64 { return float64(s.RSS[p]) / (1 << 20) }),
			mean(first, func(s Sample) float64 { return s.CPU[p] }), mean(last, func(s Sample) float64 { return s.CPU[p] }))
	}
	return b.String()
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
