package seal

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/options/gcpopts"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/options/jobopts"
	"google.golang.org/api/dataflow/v1b3"
	"google.golang.org/api/option"

	"github.com/footfall/footfall/internal/gcperr"
)

// LaunchOptions tune Launch.
type LaunchOptions struct {
	// JobName names the Dataflow job (ChunkJobName); empty leaves Beam's
	// generated name.
	JobName string
	// PollEvery is how often a Dataflow job's state is read (default 30 s).
	PollEvery time.Duration
	// States reads Dataflow job states; nil uses the Dataflow API with the
	// application default credentials (tests pass a fake).
	States JobStates
	// Log receives the job's progress (default slog.Default()).
	Log *slog.Logger
}

// JobStates reads the current state of a Dataflow job
// ("JOB_STATE_RUNNING", "JOB_STATE_DONE", ...).
type JobStates interface {
	State(ctx context.Context, project, region, jobID string) (string, error)
}

// ErrTemplateLocation is returned for a Dataflow run with
// --template_location: Beam would then only stage the job graph and report
// success, and the caller would record hours as sealed that no job ever
// computed.
var ErrTemplateLocation = errors.New("seal: --template_location only stages a job graph, it runs nothing; the sealer and backfill submit their jobs and record seals after each succeeded, so run the command itself (in production: the Cloud Run job, docs/deploy.md), not as a template")

// launchMu serialises Launch: the Dataflow runner reads the job name and
// --execute_async from process-wide flags, which Launch sets for the call.
var launchMu sync.Mutex

// Launch runs the built pipeline p on runner and returns only once the job
// has reached a terminal state: nil if and only if it succeeded.
//
// On Prism (and any runner other than Dataflow) beam.Run already blocks
// until the job ends and reports its failure. The Beam Go Dataflow runner
// does not give that guarantee on its own (runners/dataflow/dataflowlib,
// v2.77): with --execute_async (or --async) it returns as soon as the job is
// submitted, with --template_location it stages the graph, runs nothing and
// returns no error, and when it does wait it reports a cancelled or
// drained job as a success and stops waiting at the first failed state
// request. So on Dataflow Launch refuses --template_location, submits the
// job asynchronously and waits itself, polling the job's state: only
// JOB_STATE_DONE is success; FAILED, CANCELLED, DRAINED and UPDATED are
// errors; every other state is waited out; failed state requests are retried
// (transient) or returned (permanent: gcperr.Permanent). If ctx ends first
// Launch returns its error and the job keeps running; its hours stay
// unsealed either way, and the next pass redoes them.
func Launch(ctx context.Context, runner string, p *beam.Pipeline, o LaunchOptions) error {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if !isDataflow(runner) {
		_, err := beam.Run(ctx, runner, p)
		return err
	}
	if f := flag.Lookup("template_location"); f != nil && f.Value.String() != "" {
		return ErrTemplateLocation
	}
	jobID, err := submitAsync(ctx, p, o.JobName)
	if err != nil {
		return fmt.Errorf("seal: submit the Dataflow job %s: %w", o.JobName, err)
	}
	states := o.States
	if states == nil {
		if states, err = newDataflowStates(ctx); err != nil {
			return err
		}
	}
	project, region := gcpopts.GetProjectFromFlagOrEnvironment(ctx), gcpopts.GetRegion(ctx)
	return waitForJob(ctx, states, project, region, jobID, o)
}

// isDataflow reports whether runner names Beam's Dataflow runner (the
// commands normalise it: pipeflags.ResolveRunner).
func isDataflow(runner string) bool {
	return strings.EqualFold(runner, "dataflow") || strings.EqualFold(runner, "DataflowRunner")
}

// submitAsync submits p to Dataflow without waiting and returns the job id.
func submitAsync(ctx context.Context, p *beam.Pipeline, name string) (string, error) {
	launchMu.Lock()
	defer launchMu.Unlock()
	async, jobName := *jobopts.Async, *jobopts.JobName
	defer func() { *jobopts.Async, *jobopts.JobName = async, jobName }()
	*jobopts.Async = true
	if name != "" {
		*jobopts.JobName = name
	}
	res, err := beam.Run(ctx, "dataflow", p)
	if err != nil {
		return "", err
	}
	if res == nil || res.JobID() == "" {
		// Only a dry run or a template staging returns no job.
		return "", errors.New("the Dataflow runner submitted no job (--dry_run or --template_location set?)")
	}
	return res.JobID(), nil
}

// Dataflow job states (google.golang.org/api/dataflow/v1b3 Job.CurrentState).
const (
	stateDone = "JOB_STATE_DONE"
)

// failedStates end a job without its output.
var failedStates = map[string]string{
	"JOB_STATE_FAILED":    "failed",
	"JOB_STATE_CANCELLED": "was cancelled",
	"JOB_STATE_DRAINED":   "was drained (a drained batch job stops before its input is read)",
	"JOB_STATE_UPDATED":   "was replaced by an update",
}

// maxStateErrors is how many state requests in a row may fail (transient
// errors) before Launch gives up on the job.
const maxStateErrors = 10

// waitForJob polls the job's state until it is terminal.
func waitForJob(ctx context.Context, states JobStates, project, region, jobID string, o LaunchOptions) error {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	every := o.PollEvery
	if every <= 0 {
		every = 30 * time.Second
	}
	started := time.Now()
	errs, last := 0, ""
	for {
		st, err := states.State(ctx, project, region, jobID)
		switch {
		case err != nil && ctx.Err() != nil:
			return fmt.Errorf("seal: stopped waiting for Dataflow job %s (%s): %w; the job may still run, its hours stay unsealed", jobID, o.JobName, ctx.Err())
		case err != nil && gcperr.Permanent(err):
			return fmt.Errorf("seal: cannot read the state of Dataflow job %s (%s) (the account needs roles/dataflow.developer): %w", jobID, o.JobName, err)
		case err != nil:
			errs++
			if errs >= maxStateErrors {
				return fmt.Errorf("seal: lost track of Dataflow job %s (%s) after %d failed state requests; its hours stay unsealed: %w", jobID, o.JobName, errs, err)
			}
			o.Log.WarnContext(ctx, "reading the Dataflow job state failed; retrying", "job_id", jobID, "err", err)
		case st == stateDone:
			o.Log.InfoContext(ctx, "Dataflow job succeeded", "job_id", jobID, "job_name", o.JobName, "seconds", time.Since(started).Seconds())
			return nil
		case failedStates[st] != "":
			return fmt.Errorf("seal: Dataflow job %s (%s) %s (%s); its hours stay unsealed — see the job's logs: https://console.cloud.google.com/dataflow/jobs/%s/%s?project=%s",
				jobID, o.JobName, failedStates[st], st, region, jobID, project)
		default:
			errs = 0
			if st != last {
				o.Log.InfoContext(ctx, "Dataflow job state", "job_id", jobID, "job_name", o.JobName, "state", st)
				last = st
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("seal: stopped waiting for Dataflow job %s (%s): %w; the job may still run, its hours stay unsealed", jobID, o.JobName, ctx.Err())
		case <-time.After(every):
		}
	}
}

// dataflowStates reads job states through the Dataflow REST API.
type dataflowStates struct{ svc *dataflow.Service }

func newDataflowStates(ctx context.Context, opts ...option.ClientOption) (JobStates, error) {
	svc, err := dataflow.NewService(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("seal: Dataflow API client: %w", err)
	}
	return dataflowStates{svc}, nil
}

func (d dataflowStates) State(ctx context.Context, project, region, jobID string) (string, error) {
	j, err := d.svc.Projects.Locations.Jobs.Get(project, region, jobID).View("JOB_VIEW_SUMMARY").Context(ctx).Do()
	if err != nil {
		return "", err
	}
	return j.CurrentState, nil
}

// ChunkJobName is a Dataflow job name for one chunk's job: kind ("seal",
// "backfill"), the first hour, the hours, the merchant shard and the
// generation, e.g. footfall-seal-20261126t10-3h-s1of2-1795690800000000.
// Dataflow names are lower-case letters, digits and '-'.
func ChunkJobName(kind string, from time.Time, hours, shard, shards int, generation int64) string {
	name := fmt.Sprintf("footfall-%s-%s-%dh", kind, strings.ToLower(from.UTC().Format("20060102T15")), hours)
	if shards > 1 {
		name += fmt.Sprintf("-s%dof%d", shard+1, shards)
	}
	return fmt.Sprintf("%s-%d", name, generation)
}
