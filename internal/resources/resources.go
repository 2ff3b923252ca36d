// Package resources names, once, the local stack's default resources —
// the Pub/Sub project, topic and subscription and the Bigtable project and
// instance — that ingest, the query API, the pipeline commands and the
// local stack fall back to when nothing else is configured. In production
// Terraform passes its own names. The services' defaults live in their
// Config struct tags, which cannot name a constant; a test holds them to
// these.
package resources

const (
	Project          = "footfall-local"
	Topic            = "events"
	Subscription     = "events-pipeline"
	BigtableInstance = "footfall"
)
