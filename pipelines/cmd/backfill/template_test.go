package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// The flex-template metadata and the Terraform roots that launch this
// command must name flags that exist: Dataflow rejects undeclared template
// parameters, and the launcher passes each as --name=value.
func TestTemplateMetadataDeclaresFlags(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "templates", "backfill-metadata.json"))
	if err != nil {
		t.Fatal(err)
	}
	var md struct {
		Parameters []struct {
			Name string `json:"name"`
		} `json:"parameters"`
	}
	if err := json.Unmarshal(b, &md); err != nil {
		t.Fatalf("backfill-metadata.json: %v", err)
	}
	declared := map[string]bool{}
	for _, p := range md.Parameters {
		declared[p.Name] = true
		if flag.Lookup(p.Name) == nil {
			t.Errorf("backfill-metadata.json declares %q, which is not a flag of pipelines/cmd/backfill", p.Name)
		}
	}
	for _, env := range []string{"dev", "prod"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "..", "terraform", "envs", env, "main.tf"))
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`(?s)module "scheduler" \{.*?parameters = merge\(\{(.*?)\}`).FindSubmatch(b)
		if m == nil {
			t.Fatalf("terraform/envs/%s/main.tf: no scheduler `parameters = merge({ ... })` found", env)
		}
		for _, p := range regexp.MustCompile(`"([a-z][a-z0-9-]*)"\s*=`).FindAllSubmatch(m[1], -1) {
			if !declared[string(p[1])] {
				t.Errorf("terraform/envs/%s passes %q to the backfill template, which its metadata does not declare", env, p[1])
			}
		}
	}
}

func TestParseHour(t *testing.T) {
	for _, v := range []string{"2026-11-26T10:00:00Z", "2026-11-26T10:00", "2026-11-26T10", "2026-11-26T11:00:00+01:00"} {
		got, err := parseHour("--from", v)
		if err != nil || got.Format("2006-01-02T15:04:05Z07:00") != "2026-11-26T10:00:00Z" {
			t.Errorf("parseHour(%q) = %s, %v", v, got, err)
		}
	}
	for _, v := range []string{"", "yesterday", "26/11/2026"} {
		if _, err := parseHour("--from", v); err == nil {
			t.Errorf("parseHour(%q) succeeded", v)
		}
	}
}
