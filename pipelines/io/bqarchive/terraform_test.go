package bqarchive

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"cloud.google.com/go/bigquery"
)

var update = flag.Bool("update", false, "rewrite the Terraform schema files of the side tables")

// schemaJSON is a schema in the JSON form Terraform's
// google_bigquery_table.schema takes.
func schemaJSON(t *testing.T, s bigquery.Schema) []byte {
	t.Helper()
	type field struct {
		Name        string `json:"name"`
		Type        string `json:"type"`
		Mode        string `json:"mode"`
		Description string `json:"description,omitempty"`
	}
	var out []field
	for _, f := range s {
		mode := "NULLABLE"
		if f.Required {
			mode = "REQUIRED"
		}
		out = append(out, field{f.Name, string(f.Type), mode, f.Description})
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// The side tables Terraform creates have the schemas Write encodes rows
// for (regenerate: go test ./pipelines/io/bqarchive -run TestTerraformSideTableSchemas -update).
func TestTerraformSideTableSchemas(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "terraform", "modules", "bigquery")
	for file, s := range map[string]bigquery.Schema{"appends_schema.json": AppendsSchema(), "dead_letters_schema.json": DeadLettersSchema()} {
		want := schemaJSON(t, s)
		path := filepath.Join(dir, file)
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (generate it with -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from bqarchive's schema; regenerate with -update:\n got %s\nwant %s", path, got, want)
		}
	}
}
