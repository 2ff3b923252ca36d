package tfconfig

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

const sample = `
variable "region" {
  type    = string
  default = "us-central1"
}

variable "project_id" {
  type = string
}

locals {
  max_names = 500
  common    = { A = "a", B = local.greeting }
  greeting  = "hello"
}

module "svc" {
  source   = "./x"
  profile  = module.bt.app_profiles["reader"]
  env      = merge(local.common, { C = var.region, D = module.other.out }, var.extra)
  names    = local.max_names
  clusters = [{ id = "c1", zone = "${var.region}-a", max = 30 }]
  project  = var.project_id
}
`

func TestRoot(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(sample), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	mod := r.Module("svc")
	items, err := r.ObjectItems(Attr(mod, "env"))
	if err != nil {
		t.Fatal(err)
	}
	if got := Keys(items); !reflect.DeepEqual(got, []string{"A", "B", "C", "D"}) {
		t.Errorf("env keys = %v", got)
	}
	for key, want := range map[string]string{"A": "a", "B": "hello", "C": "us-central1"} {
		if got, err := r.EvalString(items[key]); err != nil || got != want {
			t.Errorf("env[%s] = %q, %v; want %q", key, got, err, want)
		}
	}
	if _, err := r.EvalString(items["D"]); err == nil {
		t.Error("another module's output evaluated to a known value")
	}
	if m, o, k, ok := IndexKey(Attr(mod, "profile")); !ok || m != "bt" || o != "app_profiles" || k != "reader" {
		t.Errorf("IndexKey = %q %q %q %v", m, o, k, ok)
	}
	for path, want := range map[string]string{"module.svc.names": "500", "module.svc.clusters[0].max": "30", "module.svc.clusters[0].zone": "us-central1-a"} {
		v, err := r.EvalPath(path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if got, err := ValueString(v); err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", path, got, err, want)
		}
	}
	if _, err := r.EvalPath("module.nope.x"); err == nil {
		t.Error("a missing module evaluated")
	}
}
