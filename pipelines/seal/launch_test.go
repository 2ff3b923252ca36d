package seal

import (
	"context"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/dataflow" // defines --template_location
	"google.golang.org/api/option"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// fakeStates answers the states (or errors) of a script, one per call.
type fakeStates struct {
	script []any // string state or error
	calls  int
}

func (f *fakeStates) State(context.Context, string, string, string) (string, error) {
	i := min(f.calls, len(f.script)-1)
	f.calls++
	if err, ok := f.script[i].(error); ok {
		return "", err
	}
	return f.script[i].(string), nil
}

// Only a job that reached JOB_STATE_DONE is a success; the Beam runner
// itself reports cancelled and drained jobs as successes and gives up at
// the first failed state request.
func TestWaitForJob(t *testing.T) {
	unavailable := status.Error(codes.Unavailable, "try again")
	tests := []struct {
		name      string
		script    []any
		wantErr   string
		wantCalls int
	}{
		{"done", []any{"JOB_STATE_QUEUED", "JOB_STATE_PENDING", "JOB_STATE_RUNNING", "JOB_STATE_RESOURCE_CLEANING_UP", "JOB_STATE_DONE"}, "", 5},
		{"failed", []any{"JOB_STATE_RUNNING", "JOB_STATE_FAILED"}, "failed", 2},
		{"cancelled", []any{"JOB_STATE_RUNNING", "JOB_STATE_CANCELLING", "JOB_STATE_CANCELLED"}, "cancelled", 3},
		{"drained", []any{"JOB_STATE_DRAINING", "JOB_STATE_DRAINED"}, "drained", 2},
		{"updated", []any{"JOB_STATE_UPDATED"}, "replaced", 1},
		{"transient state errors are retried", []any{unavailable, unavailable, "JOB_STATE_RUNNING", unavailable, "JOB_STATE_DONE"}, "", 5},
		{"lost track after repeated errors", []any{unavailable}, "lost track", maxStateErrors},
		{"permanent state error", []any{status.Error(codes.PermissionDenied, "dataflow.jobs.get")}, "roles/dataflow.developer", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeStates{script: tc.script}
			err := waitForJob(context.Background(), f, "p", "r", "job-1", LaunchOptions{JobName: "footfall-seal-x", PollEvery: time.Nanosecond})
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("waitForJob = %v, want error containing %q", err, tc.wantErr)
			}
			if f.calls != tc.wantCalls {
				t.Errorf("%d state requests, want %d", f.calls, tc.wantCalls)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := waitForJob(ctx, &fakeStates{script: []any{"JOB_STATE_RUNNING"}}, "p", "r", "j", LaunchOptions{PollEvery: time.Hour}); !errors.Is(err, context.Canceled) {
		t.Errorf("waitForJob after cancel = %v, want context.Canceled", err)
	}
}

// A --template_location run would stage a graph, run nothing and report
// success: Launch refuses it before submitting anything.
func TestLaunchRefusesTemplateLocation(t *testing.T) {
	if err := flag.Set("template_location", "gs://bucket/templates/seal.json"); err != nil {
		t.Fatal(err)
	}
	defer flag.Set("template_location", "")
	p, s := beam.NewPipelineWithRoot()
	beam.Impulse(s)
	f := &fakeStates{script: []any{"JOB_STATE_DONE"}}
	if err := Launch(context.Background(), "DataflowRunner", p, LaunchOptions{States: f}); !errors.Is(err, ErrTemplateLocation) {
		t.Errorf("Launch with --template_location = %v, want ErrTemplateLocation", err)
	}
	if f.calls != 0 {
		t.Error("Launch polled a job it must not have submitted")
	}
}

func init() {
	register.Function1x1(failIfPositive)
}

func failIfPositive(x int) error {
	if x > 0 {
		return errors.New("deliberate failure")
	}
	return nil
}

// On Prism, Launch is beam.Run: it waits and reports the job's failure.
func TestLaunchOnPrism(t *testing.T) {
	for _, tc := range []struct {
		in      int
		wantErr bool
	}{{0, false}, {1, true}} {
		p, s := beam.NewPipelineWithRoot()
		beam.ParDo0(s, failIfPositive, beam.Create(s, tc.in))
		err := Launch(context.Background(), "prism", p, LaunchOptions{})
		if (err != nil) != tc.wantErr {
			t.Errorf("Launch(%d) = %v, want error %v", tc.in, err, tc.wantErr)
		}
	}
}

// The REST job-state reader asks jobs.get for the job and reads its state.
func TestDataflowStates(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1b3/projects/my-proj/locations/us-central1/jobs/job-1":
			w.Write([]byte(`{"id":"job-1","currentState":"JOB_STATE_RUNNING"}`))
		default:
			http.Error(w, `{"error":{"code":403,"message":"denied"}}`, http.StatusForbidden)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	st, err := newDataflowStates(ctx, option.WithEndpoint(srv.URL+"/"), option.WithoutAuthentication(), option.WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.State(ctx, "my-proj", "us-central1", "job-1")
	if err != nil || got != "JOB_STATE_RUNNING" {
		t.Errorf("State = %q, %v; want JOB_STATE_RUNNING", got, err)
	}
	err = waitForJob(ctx, st, "my-proj", "us-central1", "job-2", LaunchOptions{PollEvery: time.Nanosecond})
	if err == nil || !strings.Contains(err.Error(), "roles/dataflow.developer") {
		t.Errorf("waitForJob on a 403 = %v, want a permanent error naming the role", err)
	}
}

func TestChunkJobName(t *testing.T) {
	valid := regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)
	from := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		shard, shards int
		want          string
	}{
		{0, 1, "footfall-seal-20261126t10-3h-42"},
		{1, 4, "footfall-seal-20261126t10-3h-s2of4-42"},
	} {
		got := ChunkJobName("seal", from, 3, tc.shard, tc.shards, 42)
		if got != tc.want || !valid.MatchString(got) {
			t.Errorf("ChunkJobName = %q, want %q (a valid Dataflow job name)", got, tc.want)
		}
	}
}
