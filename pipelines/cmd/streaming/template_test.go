package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/options/jobopts"
)

// The flex-template metadata and the Terraform module that launches this
// command must name flags that exist: Dataflow rejects undeclared template
// parameters, and the launcher passes each parameter as --name=value.

func templateParameters(t testing.TB) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "templates", "streaming-metadata.json"))
	if err != nil {
		t.Fatal(err)
	}
	var md struct {
		Parameters []struct {
			Name string `json:"name"`
		} `json:"parameters"`
	}
	if err := json.Unmarshal(b, &md); err != nil {
		t.Fatalf("streaming-metadata.json: %v", err)
	}
	names := map[string]bool{}
	for _, p := range md.Parameters {
		names[p.Name] = true
	}
	return names
}

func TestTemplateMetadataDeclaresFlags(t *testing.T) {
	plain := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	for name := range templateParameters(t) {
		if flag.Lookup(name) == nil {
			t.Errorf("pipelines/templates/streaming-metadata.json declares %q, which is not a flag of pipelines/cmd/streaming", name)
		}
		if !plain.MatchString(name) {
			t.Errorf("template parameter %q: use letters, digits and underscores (the underscore alias of the flag)", name)
		}
	}
}

func TestTerraformPassesDeclaredParameters(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "terraform", "modules", "dataflow", "main.tf"))
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile(`(?s)parameters = merge\(\{(.*?)\}`).FindSubmatch(b)
	if block == nil {
		t.Fatal("terraform/modules/dataflow/main.tf: no `parameters = merge({ ... }` block found")
	}
	var passed []string
	for _, m := range regexp.MustCompile(`"([a-z][a-z0-9_-]*)"\s*=`).FindAllSubmatch(block[1], -1) {
		passed = append(passed, string(m[1]))
	}
	if len(passed) == 0 {
		t.Fatal("terraform/modules/dataflow/main.tf: no parameters found")
	}
	sort.Strings(passed)
	declared := templateParameters(t)
	for _, name := range passed {
		if !declared[name] {
			t.Errorf("terraform/modules/dataflow passes %q, which streaming-metadata.json does not declare", name)
		}
		if flag.Lookup(name) == nil {
			t.Errorf("terraform/modules/dataflow passes %q, which is not a flag of pipelines/cmd/streaming", name)
		}
	}
}

// On Dataflow the command submits and exits: the runner must not wait for
// a streaming job to end (a flex-template launch would time out).
func TestDataflowSubmitsWithoutWaiting(t *testing.T) {
	defer flag.Set("execute_async", "false")
	submitOnly()
	if !*jobopts.Async {
		t.Error("--execute_async is not set: the Dataflow runner would wait for the streaming job to end")
	}
}
