// Command backfill recomputes hours from the raw archive with the streaming
// job's transforms, in batch, and replaces their sealed values in Bigtable
// (pipelines/seal).
//
// By hand, for any range and merchants:
//
//	backfill --from 2026-11-26T10:00:00Z --to 2026-11-26T14:00:00Z [--merchant demo ...] [--dry-run]
//
// As the sealer, sealing every hour that closes (the local stack runs it
// with --every; production launches it hourly on Dataflow):
//
//	backfill --seal-closed-hours [--every 30s]
//
// Locally it runs on Prism in this process and reads the Parquet archive
// (--source data/archive); --runner=dataflow with --source
// bq:PROJECT.DATASET.TABLE runs it on Dataflow.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/dataflow"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx" // defines --runner
	"github.com/schollz/progressbar/v3"

	"github.com/footfall/footfall/internal/layout"
	"github.com/footfall/footfall/pipelines/internal/counters"
	"github.com/footfall/footfall/pipelines/internal/pipeflags"
	"github.com/footfall/footfall/pipelines/seal"
)

type merchants []string

func (m *merchants) String() string     { return strings.Join(*m, ",") }
func (m *merchants) Set(v string) error { *m = append(*m, v); return nil }

var (
	fromFlag       = flag.String("from", "", "start of the range, a whole UTC hour (RFC 3339, e.g. 2026-11-26T10:00:00Z)")
	toFlag         = flag.String("to", "", "end of the range (exclusive), a whole UTC hour")
	merchantFlag   merchants
	source         = flag.String("source", "data/archive", "archive to read: a local Parquet archive directory, or bq:PROJECT.DATASET.TABLE")
	dryRun         = flag.Bool("dry-run", false, "compute and print old and new values per merchant and hour; write nothing")
	chunkHours     = flag.Int("chunk-hours", 0, "hours per batch job (0: 3 on Prism, the whole range on Dataflow); Prism holds a job's events in memory")
	merchantShards = flag.Int("merchant-shards", 1, "split each chunk into this many jobs by merchant (hash of the id): memory / N, archive reads × N")
	maxPerJob      = flag.Int64("max-events-per-job", 0, "Prism: split a chunk whose input holds more archived events than this into jobs by visitor, so memory stays bounded whatever one hour holds (0: 500,000; -1: never)")
	sealClosed     = flag.Bool("seal-closed-hours", false, "instead of --from/--to: seal every closed hour that is due (first after --grace, again on new archived events, after the session horizon and after --final)")
	every          = flag.Duration("every", 0, "with --seal-closed-hours: run a pass this often until interrupted (0: one pass)")
	grace          = flag.Duration("grace", seal.DefaultSchedule.Grace, "with --seal-closed-hours: how long after an hour closes it is first sealed")
	final          = flag.Duration("final", seal.DefaultSchedule.Final, "with --seal-closed-hours: when after an hour ends it is sealed a last time")
	lookback       = flag.Duration("lookback", seal.DefaultSchedule.Lookback, "with --seal-closed-hours: how far back hours are considered")
	progress       = flag.String("progress", "auto", "progress display: bar, log (one JSON line per chunk) or auto (bar on a terminal)")
	metricsAddr    = flag.String("metrics-addr", "", "address to serve Prometheus /metrics on while running (\"\" disables)")
	// TEST ONLY (transforms.Options.InjectBug). Hidden from -help.
	injectBug = flag.String("inject-bug", "", "TEST ONLY")
)

func init() {
	flag.Var(&merchantFlag, "merchant", "recompute only this merchant (repeatable); none means every merchant")
}

// ownFlags are this command's flags; -help shows only these (Beam's
// runner flags still work).
var ownFlags = func() map[string]bool {
	m := map[string]bool{"from": true, "to": true, "merchant": true, "source": true, "dry-run": true, "chunk-hours": true, "merchant-shards": true, "max-events-per-job": true,
		"seal-closed-hours": true, "every": true, "grace": true, "final": true, "lookback": true, "progress": true, "metrics-addr": true}
	for _, n := range pipeflags.Names {
		m[n] = true
	}
	return m
}()

func usage() {
	out := flag.CommandLine.Output()
	fmt.Fprintf(out, "Usage: %s --from HOUR --to HOUR [--merchant ID ...] [--dry-run] [flags]\n       %s --seal-closed-hours [--every 30s] [flags]\n\n", os.Args[0], os.Args[0])
	visible := flag.NewFlagSet(os.Args[0], flag.ContinueOnError)
	visible.SetOutput(out)
	flag.VisitAll(func(f *flag.Flag) {
		if ownFlags[f.Name] {
			visible.Var(f.Value, f.Name, f.Usage)
		}
	})
	visible.PrintDefaults()
	fmt.Fprintln(out, "\nDataflow: --runner=dataflow --project P --region R --staging_location gs://... with --source bq:P.DATASET.TABLE.")
}

// errUsage marks errors in how the command was called (exit status 2).
type errUsage struct{ error }

func main() {
	beamlog.LogKind = "json"
	flag.Usage = usage
	flag.Parse()
	beam.Init()
	// Prism logs every job's lifecycle at INFO; keep its warnings only.
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := realMain(ctx, log, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "backfill:", err)
		var u errUsage
		if errors.As(err, &u) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func realMain(ctx context.Context, log *slog.Logger, stdout io.Writer) error {
	runner, dataflow := pipeflags.Runner()
	src, err := seal.ParseSource(*source)
	if err != nil {
		return errUsage{err}
	}
	switch {
	case dataflow && !src.Dataflow():
		return errUsage{fmt.Errorf("--runner=dataflow reads the BigQuery archive: set --source bq:PROJECT.DATASET.TABLE (got %s)", src)}
	case dataflow && *dryRun:
		return errUsage{errors.New("--dry-run collects results in this process: run it with --runner=prism")}
	case *sealClosed && (*fromFlag != "" || *toFlag != "" || len(merchantFlag) > 0 || *dryRun):
		return errUsage{errors.New("--seal-closed-hours seals every merchant's due hours: do not combine it with --from, --to, --merchant or --dry-run")}
	case *every > 0 && !*sealClosed:
		return errUsage{errors.New("--every repeats --seal-closed-hours passes; a range backfill runs once")}
	}
	if *metricsAddr != "" {
		stopMetrics, err := counters.Serve(*metricsAddr)
		if err != nil {
			return err
		}
		defer stopMetrics()
	}
	if *merchantShards < 1 {
		return errUsage{fmt.Errorf("--merchant-shards must be at least 1, got %d", *merchantShards)}
	}
	r := &seal.Runner{Runner: runner, Source: src, ChunkHours: *chunkHours, MerchantShards: *merchantShards, MaxEventsPerJob: *maxPerJob, InjectBug: *injectBug, Log: log,
		Bigtable: pipeflags.Bigtable()}
	r.MaxNames, r.TopK = pipeflags.Bounds()
	if *injectBug != "" {
		log.Warn("TEST ONLY: running with a deliberately injected bug", "inject_bug", *injectBug)
	}
	if *sealClosed {
		return sealLoop(ctx, log, r)
	}
	from, err := parseHour("--from", *fromFlag)
	if err != nil {
		return errUsage{err}
	}
	to, err := parseHour("--to", *toFlag)
	if err != nil {
		return errUsage{err}
	}
	probe := seal.Job{From: from, To: to, Merchants: merchantFlag, Source: src, Bigtable: r.Bigtable}
	if err := probe.Validate(); err != nil {
		return errUsage{err}
	}
	if err := src.Check(ctx); err != nil {
		return err
	}
	if dataflow && r.ChunkHours == 0 {
		r.ChunkHours = len(probe.Hours())
	}
	if r.Records, err = seal.OpenRecords(ctx, r.Bigtable.Project, r.Bigtable.Instance, r.Bigtable.AppProfile, 15*time.Second); err != nil {
		return err
	}
	defer r.Records.Close()
	return backfill(ctx, log, r, probe, stdout)
}

// parseHour reads an hour as RFC 3339, or the shorter 2026-11-26T10 and
// 2026-11-26T10:00 forms (UTC).
func parseHour(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, fmt.Errorf("%s is required (a whole UTC hour such as 2026-11-26T10:00:00Z), or use --seal-closed-hours", name)
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02T15", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%s %q is not a time; use RFC 3339, e.g. 2026-11-26T10:00:00Z", name, v)
}

func backfill(ctx context.Context, log *slog.Logger, r *seal.Runner, job seal.Job, stdout io.Writer) error {
	hours := len(job.Hours())
	show := newProgress(*progress, int64(hours), log)
	defer show.stop()
	var diffs []seal.Diff
	r.Log = nil // the progress display reports chunks
	r.OnChunk = func(c seal.Chunk) {
		diffs = append(diffs, c.DryRunDiffs...)
		show.chunk(c)
	}
	scope := "every merchant"
	if len(job.Merchants) > 0 {
		scope = strings.Join(job.Merchants, ", ")
	}
	log.Info("backfill starting", "from", job.From, "to", job.To, "hours", hours, "merchants", scope,
		"source", r.Source.String(), "runner", r.Runner, "dry_run", *dryRun)
	sum, err := r.Backfill(ctx, job.From, job.To, job.Merchants, *dryRun)
	show.stop()
	if *dryRun {
		printDiffs(stdout, diffs)
	}
	verb := "sealed"
	if *dryRun {
		verb = "computed (dry run, nothing written)"
	}
	fmt.Fprintf(stdout, "\n%d of %d hours %s for %s in %s: %d archived events read, %d rows changed, %d rows unchanged.\n",
		sum.Hours, hours, verb, scope, sum.Duration.Round(time.Millisecond), sum.EventsRead, sum.RowsChanged, sum.RowsSame)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted after %d of %d hours; the rows already written are complete, and running the same command again finishes the range", sum.Hours, hours)
		}
		return err
	}
	return nil
}

// printDiffs writes the dry run's table: old → new per merchant-hour.
func printDiffs(w io.Writer, diffs []seal.Diff) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "merchant\thour (UTC)\tevents\tpage views\tvisitors\tsessions\tbot events\trevenue\t\t")
	changed := 0
	for _, d := range diffs {
		mark := ""
		if fmt.Sprint(d.Old) != fmt.Sprint(d.New) {
			mark = "changed"
			changed++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", d.Merchant, d.Hour.Format("2006-01-02 15:00"),
			arrow(d.Old.Events, d.New.Events), arrow(d.Old.PageViews, d.New.PageViews), arrow(d.Old.Visitors, d.New.Visitors),
			arrow(d.Old.Sessions, d.New.Sessions), arrow(d.Old.BotEvents, d.New.BotEvents), money(d.Old.Revenue, d.New.Revenue), mark)
	}
	tw.Flush()
	fmt.Fprintf(w, "%d merchant-hours, %d would change.\n", len(diffs), changed)
}

func arrow(old, new int64) string {
	if old == new {
		return fmt.Sprint(new)
	}
	return fmt.Sprintf("%d → %d", old, new)
}

func money(old, new layout.Money) string {
	f := func(m layout.Money) string {
		if len(m) == 0 {
			return "0"
		}
		var parts []string
		for _, c := range m.Codes() {
			parts = append(parts, m[c].Decimal()+" "+c)
		}
		return strings.Join(parts, "+")
	}
	if f(old) == f(new) {
		return f(new)
	}
	return f(old) + " → " + f(new)
}

// sealLoop runs sealer passes: once, or every --every until interrupted.
func sealLoop(ctx context.Context, log *slog.Logger, r *seal.Runner) error {
	sc := seal.Schedule{Grace: *grace, Final: *final, Lookback: *lookback}
	var err error
	for {
		if r.Records == nil {
			r.Records, err = seal.OpenRecords(ctx, r.Bigtable.Project, r.Bigtable.Instance, r.Bigtable.AppProfile, 15*time.Second)
		}
		if err == nil {
			var pass seal.Pass
			pass, err = r.SealClosedHours(ctx, time.Now(), sc)
			if pass.Chunks > 0 {
				// A chunk's jobs peak at gigabytes (docs/capacity.md); the
				// runtime keeps freed pages for a while, so a sealer that
				// runs for weeks would sit at the last seal's peak between
				// passes. Hand them back now.
				debug.FreeOSMemory()
			}
			if err == nil {
				log.Info("seal pass done", "hours_sealed", pass.Hours, "chunks", pass.Chunks, "events_read", pass.EventsRead,
					"rows_changed", pass.RowsChanged, "rows_unchanged", pass.RowsSame, "sealed_through", pass.SealedThrough,
					"seconds", pass.Duration.Seconds())
			}
		}
		if *every <= 0 || ctx.Err() != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if err != nil {
			log.Error("seal pass failed; retrying at the next pass", "err", err, "next_in", every.String())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(*every):
		}
	}
}

// display shows a range backfill's progress.
type display struct {
	bar  *progressbar.ProgressBar
	log  *slog.Logger
	done chan struct{}
	hrs  int64
	all  int64
}

func newProgress(mode string, hours int64, log *slog.Logger) *display {
	d := &display{log: log, all: hours, done: make(chan struct{})}
	if mode == "auto" {
		mode = "log"
		if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			mode = "bar"
		}
	}
	if mode != "bar" {
		return d
	}
	d.bar = progressbar.NewOptions64(hours,
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetDescription("hours"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish())
	go func() {
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-d.done:
				return
			case <-t.C:
				d.bar.Describe(fmt.Sprintf("hours (%d events read)", counters.Value("archive_events_read")))
			}
		}
	}()
	return d
}

func (d *display) chunk(c seal.Chunk) {
	d.hrs += int64(c.Hours)
	if d.bar != nil {
		d.bar.Add(c.Hours)
		return
	}
	attrs := []any{"from", c.From, "to", c.To, "hours_done", d.hrs, "hours", d.all,
		"events_read", c.EventsRead, "rows_changed", c.RowsChanged, "rows_unchanged", c.RowsSame, "seconds", c.Duration.Seconds()}
	if c.VisitorShards > 0 {
		attrs = append(attrs, "visitor_shards", c.VisitorShards, "events_spilled", c.SpilledEvents, "spill_seconds", c.SpillDuration.Seconds())
	}
	d.log.Info("chunk done", attrs...)
}

func (d *display) stop() {
	select {
	case <-d.done:
	default:
		close(d.done)
		if d.bar != nil {
			d.bar.Finish()
		}
	}
}
