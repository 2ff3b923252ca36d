package contract

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/footfall/footfall/internal/keys/keyadmin"
	"github.com/footfall/footfall/internal/tfconfig"
)

const bigtablePkg = "cloud.google.com/go/bigtable"

// transactional are the Bigtable calls that are single-row transactions:
// CheckAndMutateRow (a conditional mutation) and ReadModifyWriteRow.
// Google refuses them through multi-cluster app profiles and through
// single-cluster ones without allow_transactional_writes
// (https://cloud.google.com/bigtable/docs/app-profiles).
var transactional = []pattern{
	{bigtablePkg, "NewCondMutation"},
	{bigtablePkg, "NewReadModifyWrite"},
	{bigtablePkg, ".ApplyReadModifyWrite"},
}

var bigtableClients = []pattern{{bigtablePkg, "NewClient"}, {bigtablePkg, "NewClientWithConfig"}}

var envs = []string{"dev", "prod"}

func loadRoot(t *testing.T, parts ...string) *tfconfig.Root {
	t.Helper()
	r, err := tfconfig.Load(filepath.Join(append([]string{repo, "terraform"}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// profiles reads the bigtable module's app profiles: id → transactional.
func profiles(t *testing.T) map[string]bool {
	t.Helper()
	r := loadRoot(t, "modules", "bigtable")
	v, err := r.Eval(r.Local("profiles"))
	if err != nil {
		t.Fatalf("modules/bigtable local.profiles: %v", err)
	}
	out := map[string]bool{}
	for name, p := range v.AsValueMap() {
		out[name] = p.GetAttr("transactional").True()
	}
	return out
}

// binding is where an environment gives a binary its app profile.
type binding struct {
	cmd   string
	where string
	expr  hcl.Expression
}

func bindings(t *testing.T, r *tfconfig.Root) []binding {
	t.Helper()
	items := func(module, attr string) map[string]hcl.Expression {
		m, err := r.ObjectItems(tfconfig.Attr(r.Module(module), attr))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	ingest, queryapi, sealer := items("ingest", "env"), items("queryapi", "env"), items("sealer", "flags")
	return []binding{
		{"./pipelines/cmd/streaming", `module "dataflow" bigtable_app_profile`, tfconfig.Attr(r.Module("dataflow"), "bigtable_app_profile")},
		{"./pipelines/cmd/backfill", `module "sealer" flags["bigtable-app-profile"]`, sealer["bigtable-app-profile"]},
		{"./queryapi/cmd/queryapi", `module "queryapi" env BIGTABLE_APP_PROFILE`, queryapi["BIGTABLE_APP_PROFILE"]},
		{"./queryapi/cmd/queryapi", `module "queryapi" env KEYS_BIGTABLE_APP_PROFILE`, queryapi["KEYS_BIGTABLE_APP_PROFILE"]},
		{"./ingest/cmd/ingest", `module "ingest" env KEYS_BIGTABLE_APP_PROFILE`, ingest["KEYS_BIGTABLE_APP_PROFILE"]},
	}
}

// Code reachable from a binary may make single-row transactions only if
// the app profile Terraform gives that binary allows transactional writes,
// and every binary with a Bigtable client gets a profile. (Fails for the
// streaming job while btsink's provisional merge uses CheckAndMutateRow:
// the streaming profile is single-cluster without transactions by design.)
func TestAppProfilesAllowWhatTheCodeDoes(t *testing.T) {
	prof := profiles(t)
	if !prof[keyadmin.AppProfile] {
		t.Errorf("footfall-admin writes through %q (keyadmin.AppProfile), which modules/bigtable does not create with transactional writes", keyadmin.AppProfile)
	}
	check := func(env, cmd, where, profile string) {
		f := scan(t, cmd)
		var calls []string
		for _, p := range transactional {
			for _, file := range f[p] {
				calls = append(calls, p.Name+" in "+file)
			}
		}
		sort.Strings(calls)
		if len(calls) > 0 && !prof[profile] {
			t.Errorf("%s: %s is given app profile %q (%s), which refuses transactional writes, but code it links makes them:\n  %s\n(make those writes plain mutations, or give the binary a single-cluster profile with allow_transactional_writes)",
				env, cmd, profile, where, strings.Join(calls, "\n  "))
		}
	}
	check("footfall-admin", "./internal/keys/cmd/footfall-admin", "keyadmin.AppProfile", keyadmin.AppProfile)
	for _, env := range envs {
		r := loadRoot(t, "envs", env)
		bound := map[string]bool{}
		for _, b := range bindings(t, r) {
			if b.expr == nil {
				t.Errorf("envs/%s: %s is not set", env, b.where)
				continue
			}
			mod, out, profile, ok := tfconfig.IndexKey(b.expr)
			if !ok || out != "app_profiles" || r.Module(mod) == nil {
				t.Errorf("envs/%s: %s must name a profile as module.bigtable.app_profiles[\"...\"]", env, b.where)
				continue
			}
			if _, exists := prof[profile]; !exists {
				t.Errorf("envs/%s: %s names app profile %q, which modules/bigtable does not create", env, b.where, profile)
				continue
			}
			bound[b.cmd] = true
			check("envs/"+env, b.cmd, b.where, profile)
		}
		for _, cmd := range []string{"./ingest/cmd/ingest", "./queryapi/cmd/queryapi", "./pipelines/cmd/streaming", "./pipelines/cmd/backfill"} {
			f := scan(t, cmd)
			for _, p := range bigtableClients {
				if len(f[p]) > 0 && !bound[cmd] {
					t.Errorf("envs/%s: %s opens a Bigtable client (%s) but Terraform gives it no app profile", env, cmd, f[p][0])
				}
			}
		}
	}
}
