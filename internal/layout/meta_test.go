package layout

import (
	"testing"
	"time"

	"cloud.google.com/go/bigtable"
)

func TestSealKeyRoundTrip(t *testing.T) {
	h := time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)
	got, err := ParseSealKey(SealKey(h))
	if err != nil || !got.Equal(h) {
		t.Fatalf("ParseSealKey(SealKey(%s)) = %s, %v", h, got, err)
	}
	for _, bad := range []string{"watermarks", "seal#2026", "seal#20261126xx", "demo#t#2026112615"} {
		if _, err := ParseSealKey(bad); err == nil {
			t.Errorf("ParseSealKey(%q) succeeded", bad)
		}
	}
}

func TestDecodeSeal(t *testing.T) {
	h := time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)
	item := func(col string, v int64) bigtable.ReadItem {
		return bigtable.ReadItem{Row: SealKey(h), Column: FamilyMeta + ":" + col, Value: EncodeInt(v)}
	}
	r := bigtable.Row{FamilyMeta: {item(ColSealedAt, 10), item(ColSealedAt, 5), item(ColSealChangedAt, 20), item(ColSealedEvents, 30), item(ColSealRuns, 2), item(ColArchivedAt, 40)}}
	got, err := DecodeSeal(r)
	want := Seal{Hour: h, SealedAt: 10, ChangedAt: 20, Events: 30, Runs: 2, ArchivedAt: 40}
	if err != nil || got != want {
		t.Errorf("DecodeSeal = %+v, %v; want %+v", got, err, want)
	}
}

func TestCurrent(t *testing.T) {
	const g = 1000
	tests := []struct {
		name     string
		sealedAt int64
		family   string
		at       int64
		want     bool
	}{
		{"never sealed, provisional", 0, FamilyProvisional, 5, true},
		{"never sealed, merchant-scoped seal", 0, FamilySealed, 5, true},
		{"sealed by this seal", g, FamilySealed, g, true},
		{"sealed later by a merchant-scoped run", g, FamilySealed, g + 1, true},
		{"sealed by an earlier seal", g, FamilySealed, g - 1, false},
		{"provisional only, hour sealed", g, FamilyProvisional, g + 5, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Current(tc.sealedAt, tc.family, tc.at); got != tc.want {
				t.Errorf("Current(%d, %s, %d) = %v, want %v", tc.sealedAt, tc.family, tc.at, got, tc.want)
			}
		})
	}
}
