package contract

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/footfall/footfall/internal/keys"
	"github.com/footfall/footfall/internal/tfconfig"
	"github.com/footfall/footfall/pipelines/io/bqarchive"
	"github.com/footfall/footfall/pipelines/io/bqarchive/bqstat"
	"github.com/footfall/footfall/pipelines/seal"
	"github.com/footfall/footfall/pipelines/transforms"
)

// Every event ingest acknowledges must end up in a sealed value: the
// streaming job applies events within its horizon and leaves older ones to
// the sealer, which takes an hour over only once it has settled (so the
// horizon must outlast that), looks back far enough to see the hour of the
// oldest accepted event at its next pass, and learns that an hour changed
// from the appends table, which keeps rows longer than it looks back.
func TestAgesAgree(t *testing.T) {
	for _, env := range envs {
		r := loadRoot(t, "envs", env)
		str := func(module, attr, key string) (string, bool) {
			items, err := r.ObjectItems(tfconfig.Attr(r.Module(module), attr))
			if err != nil {
				t.Fatal(err)
			}
			e, ok := items[key]
			if !ok {
				return "", false
			}
			s, err := r.EvalString(e)
			if err != nil {
				t.Fatalf("envs/%s: module %q %s[%q]: %v", env, module, attr, key, err)
			}
			return s, true
		}
		dur := func(s string) time.Duration {
			d, err := time.ParseDuration(s)
			if err != nil {
				t.Fatalf("envs/%s: %v", env, err)
			}
			return d
		}
		maxAge, ok := str("ingest", "env", "MAX_EVENT_AGE")
		if !ok {
			t.Fatalf("envs/%s: ingest's MAX_EVENT_AGE is not set", env)
		}
		skew, ok := str("ingest", "env", "MAX_FUTURE_SKEW")
		if !ok {
			t.Fatalf("envs/%s: ingest's MAX_FUTURE_SKEW is not set", env)
		}
		lookback, grace := seal.DefaultSchedule.Lookback, seal.DefaultSchedule.Grace
		if s, ok := str("sealer", "seal_flags", "lookback"); ok {
			lookback = dur(s)
		}
		if s, ok := str("sealer", "seal_flags", "grace"); ok {
			grace = dur(s)
		}
		horizon, err := r.EvalString(tfconfig.Attr(r.Module("dataflow"), "horizon"))
		if err != nil {
			t.Fatalf("envs/%s: the streaming job's horizon: %v", env, err)
		}
		// An hour is first sealed SettledAfter + grace after it ends; until
		// then only the streaming job shows its late events.
		if need := transforms.SettledAfter + grace; dur(horizon) < need {
			t.Errorf("envs/%s: the streaming horizon %s ends before the sealer takes an hour over (%s after it ends)", env, horizon, need)
		}
		// The oldest accepted event's hour started up to MAX_EVENT_AGE + 1 h
		// before it arrived; the next pass runs up to an hour later.
		if need := dur(maxAge) + 2*time.Hour + grace; lookback < need {
			t.Errorf("envs/%s: the sealer looks back %s, but an event accepted %s late is only seen if it looks back at least %s", env, lookback, maxAge, need)
		}
		if bqarchive.AppendsRetention < lookback+24*time.Hour {
			t.Errorf("bqarchive.AppendsRetention %s must exceed the sealer's lookback %s by a day (envs/%s)", bqarchive.AppendsRetention, lookback, env)
		}
		if bqstat.MaxFutureSkew < dur(skew) {
			t.Errorf("bqstat.MaxFutureSkew %s is below ingest's MAX_FUTURE_SKEW %s (envs/%s): appends of early events would be missed", bqstat.MaxFutureSkew, skew, env)
		}
	}
	bq := loadRoot(t, "modules", "bigquery")
	days, err := bq.EvalString(tfconfig.Attr(bq.Blocks("variable", "appends_retention_days")[0], "default"))
	if want := strconv.Itoa(int(bqarchive.AppendsRetention / (24 * time.Hour))); err != nil || days != want {
		t.Errorf("modules/bigquery appends_retention_days default %s (%v) differs from bqarchive.AppendsRetention %s", days, err, bqarchive.AppendsRetention)
	}
}

// The key store's table and family are the ones Terraform creates.
func TestKeysTableMatchesTheStore(t *testing.T) {
	r := loadRoot(t, "modules", "bigtable")
	for name, want := range map[string]string{"keys_table": keys.Table, "keys_family": keys.Family} {
		got, err := r.EvalString(tfconfig.Attr(r.Blocks("variable", name)[0], "default"))
		if err != nil || got != want {
			t.Errorf("modules/bigtable %s default = %q (%v), want %q (internal/keys)", name, got, err, want)
		}
	}
}

// docs/capacity.md's "Production settings" table names each setting the
// model relies on and where terraform/envs/prod sets it; each must have
// the value the document states.
func TestProductionSettingsMatchCapacityDoc(t *testing.T) {
	f, err := os.Open(filepath.Join(repo, "docs", "capacity.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := loadRoot(t, "envs", "prod")
	row := regexp.MustCompile("^\\|([^|]+)\\|\\s*`?([^|`]+?)`?\\s*\\|\\s*`(module\\.[^`]+)`\\s*\\|")
	in, checked := false, 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			in = strings.TrimSpace(line) == "## Production settings"
			continue
		}
		m := row.FindStringSubmatch(line)
		if !in || m == nil {
			continue
		}
		checked++
		setting, want, path := strings.TrimSpace(m[1]), strings.TrimSpace(m[2]), m[3]
		v, err := r.EvalPath(path)
		if err != nil {
			t.Errorf("docs/capacity.md %q: %v", setting, err)
			continue
		}
		got, err := tfconfig.ValueString(v)
		if err != nil || got != want {
			t.Errorf("docs/capacity.md says %s is %s, but envs/prod sets %s = %q (%v)", setting, want, path, got, err)
		}
	}
	if checked < 8 {
		t.Errorf("docs/capacity.md: found %d rows in \"## Production settings\", want the table of every setting the model relies on", checked)
	}
}
