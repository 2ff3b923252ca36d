package contract

import (
	"reflect"
	"strings"
	"testing"

	"github.com/footfall/footfall/ingest"
	"github.com/footfall/footfall/queryapi"
)

// envNames lists the `env:` names of a config struct, nested structs
// (keys.Config) included.
func envNames(t reflect.Type) map[string]bool {
	out := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		if tag, ok := f.Tag.Lookup("env"); ok {
			if name, _, _ := strings.Cut(tag, ","); name != "" {
				out[strings.TrimSpace(name)] = true
			}
			continue
		}
		if f.Type.Kind() == reflect.Struct {
			for n := range envNames(f.Type) {
				out[n] = true
			}
		}
	}
	return out
}

// Every environment variable Terraform sets on a Cloud Run service is one
// its Config reads (a misspelt name would be silently ignored, leaving the
// default), and the ones production depends on are set.
func TestCloudRunEnvMatchesConfig(t *testing.T) {
	services := []struct {
		module   string
		config   reflect.Type
		required []string
	}{
		{"ingest", reflect.TypeFor[ingest.Config](), []string{"PUBSUB_PROJECT", "PUBSUB_TOPIC", "MAX_EVENT_AGE", "KEYS_BIGTABLE_PROJECT", "KEYS_BIGTABLE_INSTANCE", "KEYS_BIGTABLE_APP_PROFILE", "TRUSTED_PROXIES"}},
		{"queryapi", reflect.TypeFor[queryapi.Config](), []string{"BIGTABLE_PROJECT", "BIGTABLE_INSTANCE", "BIGTABLE_APP_PROFILE", "KEYS_BIGTABLE_PROJECT", "KEYS_BIGTABLE_INSTANCE", "KEYS_BIGTABLE_APP_PROFILE"}},
	}
	for _, env := range envs {
		r := loadRoot(t, "envs", env)
		for _, s := range services {
			names := envNames(s.config)
			items, err := r.ObjectItems(r.Module(s.module).Body.Attributes["env"].Expr)
			if err != nil {
				t.Fatal(err)
			}
			for name := range items {
				if !names[name] {
					t.Errorf("envs/%s: module %q sets %s, which %s does not read (env tags: %s)", env, s.module, name, s.config, strings.Join(sortedKeys(names), ", "))
				}
			}
			for _, name := range s.required {
				if _, ok := items[name]; !ok {
					t.Errorf("envs/%s: module %q does not set %s", env, s.module, name)
				}
			}
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sortStrings(out)
	return out
}
