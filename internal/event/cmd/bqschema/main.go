// Command bqschema prints the BigQuery schema of the events archive table,
// derived from the event contract (internal/event/bqschema):
//
//	go run ./internal/event/cmd/bqschema > terraform/modules/bigquery/events_schema.json
package main

import (
	"fmt"
	"os"

	"github.com/footfall/footfall/internal/event/bqschema"
)

func main() {
	b, err := bqschema.EventsJSON()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if _, err := os.Stdout.Write(b); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
