// Package contract holds the tests that read the Terraform of terraform/
// and the Go code together, so that neither can change without the other:
// the Bigtable app profile each binary gets against the Bigtable calls its
// code makes, each service account's roles against the Google APIs the
// code reachable from its binaries calls, the Cloud Run environment
// against the services' Config structs, the production settings against
// docs/capacity.md, and the ages (event age, lookback, retention) against
// each other. It has no code of its own; docs/deploy.md lists the checks.
package contract
