package pipeflags

import (
	"flag"
	"testing"
)

func TestResolveRunner(t *testing.T) {
	tests := []struct {
		value        string
		launcher     bool
		wantName     string
		wantDataflow bool
	}{
		{"dataflow", false, "dataflow", true},
		{"DataflowRunner", false, "dataflow", true},
		{"Dataflow", false, "dataflow", true},
		{"dataflowrunner", false, "dataflow", true},
		{" DATAFLOW ", false, "dataflow", true},
		{"", true, "dataflow", true}, // a template launch that passes no --runner
		{"", false, "prism", false},
		{"prism", false, "prism", false},
		{"prism", true, "prism", false}, // an explicit runner wins
		{"PrismRunner", false, "PrismRunner", false},
		{"direct", false, "direct", false},
	}
	for _, tc := range tests {
		name, dataflow := ResolveRunner(tc.value, tc.launcher)
		if name != tc.wantName || dataflow != tc.wantDataflow {
			t.Errorf("ResolveRunner(%q, launcher=%v) = %q, %v; want %q, %v", tc.value, tc.launcher, name, dataflow, tc.wantName, tc.wantDataflow)
		}
	}
}

func TestRunnerReadsTheLauncherEnvironment(t *testing.T) {
	t.Setenv(LauncherEnv, "/template/pipeline")
	if err := flag.Set("runner", ""); err != nil {
		t.Fatal(err)
	}
	if name, dataflow := Runner(); name != "dataflow" || !dataflow {
		t.Errorf("Runner() in a template launch = %q, %v; want dataflow, true", name, dataflow)
	}
}

func TestBigtableFromFlags(t *testing.T) {
	for name, v := range map[string]string{"bigtable-project": "p", "bigtable-instance": "i", "bigtable-app-profile": "streaming", "max-names": "7", "top-k": "9"} {
		if err := flag.Set(name, v); err != nil {
			t.Fatal(err)
		}
	}
	got := Bigtable()
	if got.Project != "p" || got.Instance != "i" || got.AppProfile != "streaming" {
		t.Errorf("Bigtable() = %+v", got)
	}
	if n, k := Bounds(); n != 7 || k != 9 {
		t.Errorf("Bounds() = %d, %d; want 7, 9", n, k)
	}
	for _, n := range Names {
		if flag.Lookup(n) == nil {
			t.Errorf("Names lists %q, which is not a flag", n)
		}
	}
}

func TestAliasUnderscores(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	lateness := fs.Duration("allowed-lateness", 0, "how late")
	fs.String("staging_location", "", "Beam's own")
	fs.String("top-k", "", "taken below")
	fs.String("top_k", "", "already defined")
	AliasUnderscores(fs)
	if err := fs.Parse([]string{"--allowed_lateness=72h"}); err != nil {
		t.Fatal(err)
	}
	if lateness.String() != "72h0m0s" {
		t.Errorf("--allowed_lateness set %s, want the --allowed-lateness flag's value", lateness)
	}
	if f := fs.Lookup("allowed_lateness"); f == nil || !IsAlias(f) {
		t.Error("no alias flag allowed_lateness")
	}
	if f := fs.Lookup("top_k"); IsAlias(f) {
		t.Error("an existing flag was replaced by an alias")
	}
}
