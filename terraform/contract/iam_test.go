package contract

import (
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
)

const (
	bigqueryPkg    = "cloud.google.com/go/bigquery"
	writerPkg      = "cloud.google.com/go/bigquery/storage/managedwriter"
	readPkg        = "cloud.google.com/go/bigquery/storage/apiv1"
	pubsubPkg      = "cloud.google.com/go/pubsub/v2"
	dataflowAPI    = "google.golang.org/api/dataflow/v1b3"
	dataflowRunner = "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/dataflow"
	pubsubReadURN  = "beam:transform:pubsub_read:v1"
	cloudbuildFile = "cloudbuild.yaml"
)

// submitsToDataflow: the Beam Dataflow runner is linked (blank import).
var submitsToDataflow = pattern{dataflowRunner, "import"}

// need is one role an account must hold, and the calls that need it: the
// role is required when any of them is found in the code (or text) the
// account runs. Each comment names the permission the call uses.
type need struct {
	kind, role string
	calls      []pattern // in the Go code reachable from the account's binaries
	text       []string  // or in the account's other files (cloudbuild.yaml)
}

// account is who runs what: the binaries whose code runs with its
// credentials (and other files, for Cloud Build), and the roles that code
// needs.
type account struct {
	cmds  []string
	files []string
	needs []need
}

var bigtableReads = []pattern{{bigtablePkg, ".ReadRow"}, {bigtablePkg, ".ReadRows"}}
var bigtableWrites = []pattern{{bigtablePkg, ".Apply"}, {bigtablePkg, ".ApplyBulk"}, {bigtablePkg, ".ApplyReadModifyWrite"}}

// accounts is the map from code to roles that TestIAMGrantsMatchTheCode
// holds modules/iam to.
var accounts = map[string]account{
	"ingest": {cmds: []string{"./ingest/cmd/ingest"}, needs: []need{
		{"topic", "roles/pubsub.publisher", []pattern{{pubsubPkg, ".Publisher"}}, nil}, // pubsub.topics.publish
		{"bigtable_instance", "roles/bigtable.reader", bigtableReads, nil},             // bigtable.tables.readRows (merchant keys)
	}},
	"queryapi": {cmds: []string{"./queryapi/cmd/queryapi"}, needs: []need{
		{"bigtable_instance", "roles/bigtable.reader", bigtableReads, nil}, // bigtable.tables.readRows
	}},
	// The workers run the streaming job's and the batch jobs' DoFns; the
	// streaming job's template launcher runs as this account too.
	"dataflow": {cmds: []string{"./pipelines/cmd/streaming", "./pipelines/cmd/backfill"}, files: []string{cloudbuildFile}, needs: []need{
		{"project", "roles/dataflow.worker", []pattern{submitsToDataflow}, nil},
		{"subscription", "roles/pubsub.subscriber", []pattern{{"", pubsubReadURN}}, nil}, // pubsub.subscriptions.consume
		{"subscription", "roles/pubsub.viewer", []pattern{{"", pubsubReadURN}}, nil},     // pubsub.subscriptions.get (Dataflow's source checks the subscription)
		{"bigtable_instance", "roles/bigtable.user", append(slices.Clone(bigtableWrites), bigtableReads...), nil},
		{"dataset", "roles/bigquery.dataEditor", []pattern{{writerPkg, "NewClient"}, {readPkg, "NewBigQueryReadClient"}}, nil}, // tables.updateData, tables.getData
		{"project", "roles/bigquery.readSessionUser", []pattern{{readPkg, "NewBigQueryReadClient"}}, nil},                      // readsessions.create
		{"bucket", "roles/storage.objectAdmin", []pattern{submitsToDataflow}, nil},                                             // staging and temp files
		{"bucket", "roles/storage.legacyBucketReader", []pattern{submitsToDataflow}, nil},                                      // storage.buckets.get
		{"repository", "roles/artifactregistry.reader", nil, []string{"--image="}},                                             // the launcher pulls its image
	}},
	// The Cloud Run job that plans seal passes, submits the Dataflow jobs
	// and records seals.
	"sealer": {cmds: []string{"./pipelines/cmd/backfill"}, needs: []need{
		{"project", "roles/dataflow.developer", []pattern{{dataflowAPI, "NewService"}}, nil},                                          // dataflow.jobs.create, .get
		{"worker_account", "roles/iam.serviceAccountUser", []pattern{{dataflowAPI, "NewService"}}, nil},                               // iam.serviceAccounts.actAs on the workers' account
		{"bucket", "roles/storage.objectAdmin", []pattern{{dataflowAPI, "NewService"}}, nil},                                          // stages the worker binary and the job graph
		{"bucket", "roles/storage.legacyBucketReader", []pattern{{dataflowAPI, "NewService"}}, nil},                                   // storage.buckets.get
		{"bigtable_instance", "roles/bigtable.user", []pattern{{bigtablePkg, ".ApplyReadModifyWrite"}, {bigtablePkg, ".Apply"}}, nil}, // seal records
		{"project", "roles/bigquery.jobUser", []pattern{{bigqueryPkg, ".Query"}}, nil},                                                // bigquery.jobs.create (bqstat)
		{"dataset", "roles/bigquery.dataViewer", []pattern{{bigqueryPkg, ".Query"}}, nil},                                             // reads the appends table
	}},
	"build": {files: []string{cloudbuildFile}, needs: []need{
		{"repository", "roles/artifactregistry.writer", nil, []string{"docker push"}},
		{"bucket", "roles/storage.objectAdmin", nil, []string{"gs://${_TEMPLATES_BUCKET}/templates/"}},
		{"project", "roles/logging.logWriter", nil, []string{"CLOUD_LOGGING_ONLY"}},
	}},
	// Cloud Scheduler's identity: roles/run.invoker on the sealer job,
	// granted by modules/sealer (TestSchedulerMayRunTheSealer).
	"scheduler": {},
}

// grants reads modules/iam's local.grants: kind → account → roles.
func grants(t *testing.T) map[string]map[string][]string {
	t.Helper()
	r := loadRoot(t, "modules", "iam")
	v, err := r.Eval(r.Local("grants"))
	if err != nil {
		t.Fatalf("modules/iam local.grants: %v", err)
	}
	out := map[string]map[string][]string{}
	for kind, by := range v.AsValueMap() {
		out[kind] = map[string][]string{}
		for acct, roles := range by.AsValueMap() {
			for _, role := range roles.AsValueSlice() {
				out[kind][acct] = append(out[kind][acct], role.AsString())
			}
		}
	}
	return out
}

// Every role modules/iam grants is needed by a call the account's code
// makes, every such call's role is granted, and every call any binary
// makes is one some account running that binary is granted a role for.
func TestIAMGrantsMatchTheCode(t *testing.T) {
	g := grants(t)
	has := func(acct string, n need) bool {
		for _, c := range n.calls {
			for _, cmd := range accounts[acct].cmds {
				if len(scan(t, cmd)[c]) > 0 {
					return true
				}
			}
		}
		for _, s := range n.text {
			for _, f := range accounts[acct].files {
				if fileContains(t, f, s) {
					return true
				}
			}
		}
		return false
	}
	// Code → Terraform: each needed role is granted; Terraform → code: each
	// grant is needed.
	for acct, a := range accounts {
		needed := map[string]bool{}
		for _, n := range a.needs {
			key := n.kind + " " + n.role
			if !has(acct, n) {
				t.Errorf("account %s: no code it runs makes the calls that need %s on the %s any more (%v %v); drop the grant and this need",
					acct, n.role, n.kind, n.calls, n.text)
				continue
			}
			needed[key] = true
			if !slices.Contains(g[n.kind][acct], n.role) {
				t.Errorf("account %s: its code needs %s on the %s, which modules/iam does not grant", acct, n.role, n.kind)
			}
		}
		for kind, by := range g {
			for _, role := range by[acct] {
				if !needed[kind+" "+role] {
					t.Errorf("account %s: modules/iam grants %s on the %s, which none of its code needs (grant exactly what the code calls)", acct, role, kind)
				}
			}
		}
	}
	for kind, by := range g {
		for acct := range by {
			if _, ok := accounts[acct]; !ok {
				t.Errorf("modules/iam grants roles on the %s to %q, an account this test does not know", kind, acct)
			}
		}
	}
	// Every known call a binary makes is covered by an account running it.
	runs := map[string][]string{}
	for acct, a := range accounts {
		for _, cmd := range a.cmds {
			runs[cmd] = append(runs[cmd], acct)
		}
	}
	for cmd, accts := range runs {
		f := scan(t, cmd)
		for _, known := range knownCalls() {
			if len(f[known]) == 0 || covered(accts, known) {
				continue
			}
			t.Errorf("%s calls %s (%s) but no account that runs it (%s) has a role for that call", cmd, known, strings.Join(f[known], ", "), strings.Join(accts, ", "))
		}
	}
}

func knownCalls() []pattern {
	set := map[pattern]bool{}
	for _, a := range accounts {
		for _, n := range a.needs {
			for _, c := range n.calls {
				if c.Import != "" {
					set[c] = true
				}
			}
		}
	}
	out := make([]pattern, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

func covered(accts []string, p pattern) bool {
	for _, acct := range accts {
		for _, n := range accounts[acct].needs {
			if slices.Contains(n.calls, p) {
				return true
			}
		}
	}
	return false
}

// The scheduler runs the sealer's Cloud Run job (jobs.run, in
// roles/run.invoker), granted on the job itself.
func TestSchedulerMayRunTheSealer(t *testing.T) {
	r := loadRoot(t, "modules", "sealer")
	bs := r.Blocks("resource", "google_cloud_run_v2_job_iam_member")
	if len(bs) != 1 {
		t.Fatalf("modules/sealer: %d google_cloud_run_v2_job_iam_member resources, want 1", len(bs))
	}
	role, err := r.EvalString(bs[0].Body.Attributes["role"].Expr)
	if err != nil || role != "roles/run.invoker" {
		t.Errorf("the scheduler's role on the sealer job = %q, %v; want roles/run.invoker", role, err)
	}
	rng := bs[0].Body.Attributes["member"].SrcRange
	src, err := os.ReadFile(rng.Filename)
	if err != nil {
		t.Fatal(err)
	}
	member := string(rng.SliceBytes(src))
	if !strings.Contains(member, "scheduler_service_account_email") {
		t.Errorf("the invoker is %s, want the scheduler's account", member)
	}
}
