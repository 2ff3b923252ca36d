package main

import (
	"flag"
	"path/filepath"
	"testing"

	"github.com/footfall/footfall/internal/tfconfig"
)

// The sealer's Cloud Run job passes these flags (terraform/envs/*, module
// "sealer"); each must be a flag of this command or of the Beam runner it
// links, or the job would exit at once with "flag provided but not
// defined".
func TestTerraformFlagsExist(t *testing.T) {
	for _, env := range []string{"dev", "prod"} {
		r, err := tfconfig.Load(filepath.Join("..", "..", "..", "terraform", "envs", env))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, attr := range []string{"flags", "seal_flags"} {
			items, err := r.ObjectItems(tfconfig.Attr(r.Module("sealer"), attr))
			if err != nil {
				t.Fatal(err)
			}
			for name := range items {
				n++
				if flag.Lookup(name) == nil {
					t.Errorf("terraform/envs/%s passes --%s to the sealer, which is not a flag of pipelines/cmd/backfill", env, name)
				}
			}
		}
		if n < 10 {
			t.Errorf("terraform/envs/%s: found %d sealer flags; the module \"sealer\" block was not read", env, n)
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
