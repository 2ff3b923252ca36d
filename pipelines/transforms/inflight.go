package transforms

import (
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/footfall/footfall/pipelines/internal/lag"
)

// The streaming stateful steps (Attach, Visit) count the elements keyed
// for them and the elements they receive (pipelines/internal/lag), so
// that on Prism the Pub/Sub reader can wait while the queue between the
// two is long (lag.Tracker.Crowded). The batch steps key with the plain
// functions: nothing reads their counts.

func init() {
	register.Function1x2(keyByUserCounted)
	register.Function1x2(keyByVisitorCounted)
}

// keyByUserCounted is keyByUser, counting the element as in flight.
func keyByUserCounted(h Hit) (string, Hit) {
	lag.Process.Keyed(1)
	return keyByUser(h)
}

// keyByVisitorCounted is keyByVisitor, counting the element as in flight.
func keyByVisitorCounted(h Hit) (string, Hit) {
	lag.Process.Keyed(1)
	return keyByVisitor(h)
}
