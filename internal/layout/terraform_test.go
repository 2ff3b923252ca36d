package layout

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigtable"
)

var update = flag.Bool("update", false, "rewrite terraform/modules/bigtable/families.json from Families()")

// familiesFile is the Terraform copy of Families(), relative to this
// package's directory. terraform/modules/bigtable creates the tables, column
// families and GC policies from it; each policy is in the JSON form of
// google_bigtable_gc_policy.gc_rules.
var familiesFile = filepath.Join("..", "..", "terraform", "modules", "bigtable", "families.json")

// gcRules is the JSON form of google_bigtable_gc_policy.gc_rules.
type gcRules struct {
	Mode       string    `json:"mode,omitempty"`
	Rules      []gcRules `json:"rules,omitempty"`
	MaxVersion int       `json:"max_version,omitempty"`
	MaxAge     string    `json:"max_age,omitempty"`
}

func TestTerraformFamiliesMatchLayout(t *testing.T) {
	want, err := familiesJSON(Families())
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(familiesFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(familiesFile)
	if err != nil {
		t.Fatalf("reading the Terraform families: %v", err)
	}
	var file map[string]map[string]gcRules
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatalf("%s: %v", familiesFile, err)
	}
	// Compare meaning (policy strings), not bytes, so "3h" and "180m" agree.
	got := map[string]map[string]string{}
	for table, fams := range file {
		got[table] = map[string]string{}
		for fam, r := range fams {
			p, err := r.policy(true)
			if err != nil {
				t.Fatalf("%s: %s/%s: %v", familiesFile, table, fam, err)
			}
			got[table][fam] = p.String()
		}
	}
	wantStr := map[string]map[string]string{}
	for table, fams := range Families() {
		wantStr[table] = map[string]string{}
		for fam, p := range fams {
			wantStr[table][fam] = p.String()
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(wantStr) {
		t.Errorf("terraform/modules/bigtable/families.json differs from layout.Families().\n"+
			"Regenerate it from the repository root:\n\tgo test ./internal/layout -run TestTerraformFamiliesMatchLayout -update\n"+
			"got:  %v\nwant: %v", got, wantStr)
	}
}

// familiesJSON encodes families as families.json: tables and families in
// name order (encoding/json sorts map keys), indented, newline-terminated.
func familiesJSON(families map[string]map[string]bigtable.GCPolicy) ([]byte, error) {
	out := map[string]map[string]gcRules{}
	for table, fams := range families {
		out[table] = map[string]gcRules{}
		for fam, p := range fams {
			r, err := toRules(p)
			if err != nil {
				return nil, fmt.Errorf("%s/%s: %w", table, fam, err)
			}
			// gc_rules needs a "rules" list at the top level.
			if r.Mode == "" {
				r = gcRules{Rules: []gcRules{r}}
			}
			out[table][fam] = r
		}
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func toRules(p bigtable.GCPolicy) (gcRules, error) {
	switch p := p.(type) {
	case bigtable.MaxVersionsGCPolicy:
		return gcRules{MaxVersion: int(p)}, nil
	case bigtable.MaxAgeGCPolicy:
		return gcRules{MaxAge: shortDuration(time.Duration(p))}, nil
	case bigtable.UnionGCPolicy:
		return compound("union", p.Children)
	case bigtable.IntersectionGCPolicy:
		return compound("intersection", p.Children)
	}
	return gcRules{}, fmt.Errorf("unsupported GC policy %T", p)
}

func compound(mode string, children []bigtable.GCPolicy) (gcRules, error) {
	r := gcRules{Mode: mode}
	for _, c := range children {
		cr, err := toRules(c)
		if err != nil {
			return gcRules{}, err
		}
		r.Rules = append(r.Rules, cr)
	}
	return r, nil
}

// shortDuration writes 3h rather than 3h0m0s; both parse the same.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// policy converts gc_rules JSON back into a GCPolicy the way the Terraform
// provider does.
func (r gcRules) policy(top bool) (bigtable.GCPolicy, error) {
	switch {
	case r.MaxVersion > 0 && !top:
		return bigtable.MaxVersionsPolicy(r.MaxVersion), nil
	case r.MaxAge != "" && !top:
		d, err := time.ParseDuration(r.MaxAge)
		if err != nil {
			return nil, err
		}
		return bigtable.MaxAgePolicy(d), nil
	case len(r.Rules) == 0:
		return nil, fmt.Errorf("want rules (and a mode when there are several), got %+v", r)
	}
	var children []bigtable.GCPolicy
	for _, c := range r.Rules {
		p, err := c.policy(false)
		if err != nil {
			return nil, err
		}
		children = append(children, p)
	}
	switch r.Mode {
	case "":
		if len(children) != 1 {
			return nil, fmt.Errorf("%d rules without a mode", len(children))
		}
		return children[0], nil
	case "union":
		return bigtable.UnionPolicy(children...), nil
	case "intersection":
		return bigtable.IntersectionPolicy(children...), nil
	}
	return nil, fmt.Errorf("unknown mode %q", r.Mode)
}

func TestShortDuration(t *testing.T) {
	for _, tc := range []struct {
		in   time.Duration
		want string
	}{
		{3 * time.Hour, "3h"},
		{90 * time.Minute, "1h30m"},
		{45 * time.Second, "45s"},
		{1500 * time.Millisecond, "1.5s"},
		{10 * time.Second, "10s"},
	} {
		got := shortDuration(tc.in)
		if got != tc.want {
			t.Errorf("shortDuration(%v) = %q, want %q", tc.in, got, tc.want)
		}
		if d, err := time.ParseDuration(got); err != nil || d != tc.in {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", got, d, err, tc.in)
		}
	}
}
