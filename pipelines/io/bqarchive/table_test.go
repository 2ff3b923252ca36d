package bqarchive

import "testing"

func TestParseTable(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want Options
		ok   bool
	}{
		{"my-project.footfall.events", Options{Project: "my-project", Dataset: "footfall", Table: "events"}, true},
		{"my-project:footfall.events", Options{Project: "my-project", Dataset: "footfall", Table: "events"}, true},
		{"footfall.events", Options{}, false},
		{"my-project.foot-fall.events", Options{}, false},
		{"", Options{}, false},
	} {
		got, err := ParseTable(tc.spec)
		if (err == nil) != tc.ok {
			t.Errorf("ParseTable(%q) error = %v, want ok=%v", tc.spec, err, tc.ok)
			continue
		}
		if tc.ok && got != tc.want {
			t.Errorf("ParseTable(%q) = %+v, want %+v", tc.spec, got, tc.want)
		}
	}
}
