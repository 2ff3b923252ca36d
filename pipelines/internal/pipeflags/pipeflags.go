// Package pipeflags defines, once, the command-line flags and defaults that
// both pipeline commands (pipelines/cmd/streaming and pipelines/cmd/backfill)
// share: the Bigtable names, the bounds that provisional and sealed values
// must agree on (--max-names, --top-k), the default resource names, and how
// --runner selects Dataflow. Sealed and provisional values agree only when
// both commands get the same values; defining the flags here once makes
// that a matter of passing the same flags, not of keeping two copies equal.
package pipeflags

import (
	"flag"
	"os"
	"strings"

	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners" // defines --runner

	"github.com/footfall/footfall/internal/resources"
	"github.com/footfall/footfall/pipelines/io/btsink"
)

// The local stack's resource names (internal/resources), the defaults of
// both commands (in production Terraform passes its own).
const (
	DefaultProject      = resources.Project
	DefaultInstance     = resources.BigtableInstance
	DefaultSubscription = resources.Subscription
)

var (
	bigtableProject  = flag.String("bigtable-project", DefaultProject, "Bigtable project")
	bigtableInstance = flag.String("bigtable-instance", DefaultInstance, "Bigtable instance")
	bigtableProfile  = flag.String("bigtable-app-profile", "", "Bigtable app profile (\"\": the instance's default); production: \"streaming\" for the streaming job, \"sealer\" for backfill and sealing")
	maxNames         = flag.Int("max-names", 0, "distinct event names kept per merchant-hour, the rest summed as (other) (0: 500); the streaming job and backfill must agree")
	topK             = flag.Int("top-k", 0, "values kept per breakdown row, the rest summed as other (0: 100); the streaming job and backfill must agree")
)

// Names are the flags this package defines, for a command's -help.
var Names = []string{"bigtable-project", "bigtable-instance", "bigtable-app-profile", "max-names", "top-k", "runner"}

// Bigtable returns the Bigtable options the flags give.
func Bigtable() btsink.Options {
	return btsink.Options{Project: *bigtableProject, Instance: *bigtableInstance, AppProfile: *bigtableProfile}
}

// Bounds returns --max-names and --top-k (0: the defaults): the bounds of
// every row, which the streaming job and the sealer must share.
func Bounds() (names, k int) { return *maxNames, *topK }

// AliasUnderscores defines, for every flag of fs whose name has a '-', the
// same flag with '_' instead (--early_firing for --early-firing),
// unless that name is taken. Flex-template parameters are passed to the
// command as --name=value, and underscore names are the form Google's own
// templates use for parameter names; with the aliases the template
// metadata and Terraform use those, whatever Dataflow allows.
func AliasUnderscores(fs *flag.FlagSet) {
	var names []string
	fs.VisitAll(func(f *flag.Flag) {
		if strings.Contains(f.Name, "-") {
			names = append(names, f.Name)
		}
	})
	for _, n := range names {
		alias := strings.ReplaceAll(n, "-", "_")
		if fs.Lookup(alias) == nil {
			f := fs.Lookup(n)
			fs.Var(f.Value, alias, "alias of --"+n)
		}
	}
}

// IsAlias reports whether f is an alias AliasUnderscores defined (-help
// lists the original only).
func IsAlias(f *flag.Flag) bool { return strings.HasPrefix(f.Usage, "alias of --") }

// LauncherEnv is set in the flex-template launcher image
// (pipelines/Dockerfile; Google's Go launcher requires it): a process that
// sees it was started by a template launch.
const LauncherEnv = "FLEX_TEMPLATE_GO_BINARY"

// Runner is the Beam runner to run on and whether it is Dataflow, from
// --runner and the environment (ResolveRunner).
func Runner() (name string, dataflow bool) {
	return ResolveRunner(flag.Lookup("runner").Value.String(), os.Getenv(LauncherEnv) != "")
}

// ResolveRunner maps a --runner value to the registered runner name to run
// on and whether it is Dataflow. Beam registers the Dataflow runner as
// "dataflow" and "DataflowRunner"; any case of either selects Dataflow (and
// runs as "dataflow"). An empty value means Prism, the local default,
// except in a flex-template launch (launcher), which is always Dataflow.
// Other values pass through unchanged.
func ResolveRunner(value string, launcher bool) (name string, dataflow bool) {
	switch strings.ToLower(strings.TrimSpace(value)) {
	case "dataflow", "dataflowrunner":
		return "dataflow", true
	case "":
		if launcher {
			return "dataflow", true
		}
		return "prism", false
	}
	return value, false
}
