package layout

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"cloud.google.com/go/bigtable"
	"github.com/axiomhq/hyperloglog"
)

// Dimension names a breakdown.
type Dimension string

// The breakdown dimensions.
const (
	DimEvent    Dimension = "event"      // event name (event-scoped)
	DimPage     Dimension = "page"       // normalised page path (event-scoped)
	DimEntry    Dimension = "entry_page" // the session's first page (session-scoped)
	DimExit     Dimension = "exit_page"  // the session's last page (sessions only)
	DimSource   Dimension = "source"     // traffic source of the session
	DimMedium   Dimension = "medium"     // traffic medium of the session
	DimCampaign Dimension = "campaign"   // utm_campaign of the session
	DimCountry  Dimension = "country"    // ISO 3166-1 alpha-2 of the session
	DimDevice   Dimension = "device"     // desktop, mobile, tablet, tv, other
	DimBrowser  Dimension = "browser"
	DimOS       Dimension = "os"
)

// Dimensions lists every breakdown dimension in a fixed order.
var Dimensions = []Dimension{DimEvent, DimPage, DimEntry, DimExit, DimSource, DimMedium, DimCampaign, DimCountry, DimDevice, DimBrowser, DimOS}

// SessionScoped reports whether d has one value per session (the value of
// its first or, for DimExit, last event), so that its items carry session
// metrics (docs/metrics.md). DimEvent and DimPage are event-scoped.
func (d Dimension) SessionScoped() bool { return d != DimEvent && d != DimPage }

// EventMetrics reports whether d's items carry event metrics (events, page
// views, revenue): every dimension but DimExit, whose value is known only
// once the session has ended.
func (d Dimension) EventMetrics() bool { return d != DimExit }

// ParseDimension returns the Dimension named s.
func ParseDimension(s string) (Dimension, bool) {
	for _, d := range Dimensions {
		if string(d) == s {
			return d, true
		}
	}
	return "", false
}

// HyperLogLog++ precisions. Totals use 14 (16 KiB dense, about 0.8 %
// standard error, as GA4 uses for users); breakdown values use 12 (4 KiB
// dense, about 1.6 %) because a breakdown row holds up to TopK of them.
// Sketches of different precisions never meet.
const (
	VisitorPrecision   = 14
	BreakdownPrecision = 12
)

// NewVisitorSketch returns an empty sketch for a totals row.
func NewVisitorSketch() *hyperloglog.Sketch { return mustSketch(VisitorPrecision) }

// NewItemSketch returns an empty sketch for a breakdown value.
func NewItemSketch() *hyperloglog.Sketch { return mustSketch(BreakdownPrecision) }

func mustSketch(p uint8) *hyperloglog.Sketch {
	sk, err := hyperloglog.NewSketch(p, true)
	if err != nil {
		panic(err)
	}
	return sk
}

// Column qualifiers of a totals row.
const (
	ColEvents        = "events"
	ColPageViews     = "pageviews"
	ColBotEvents     = "bot_events"
	ColSessions      = "sessions"
	ColBounces       = "bounces"
	ColEngaged       = "engaged"
	ColSessionMillis = "session_ms"
	ColVisitors      = "visitors"
	// ColNamePrefix + event name: events of that name.
	ColNamePrefix = "n:"
	// ColRevenuePrefix + ISO 4217 code: revenue, an EncodeAmount value.
	ColRevenuePrefix = "rev:"
	// ColUpdatedAt: when the row's family was last written (Unix µs).
	ColUpdatedAt = "_at"
	// ColGeneration: how many times the family was written (provisional:
	// one more per pane folded in).
	ColGeneration = "_gen"
	// ColValuePrefix + value: one breakdown value's Item.
	ColValuePrefix = "v:"
	// ColOther: the breakdown's "other" Item (everything outside the top K).
	ColOther = "_other"
)

// OtherValue is how the "other" bucket of a breakdown is named to readers.
const OtherValue = "(other)"

// NoneValue stands for an empty dimension value (no campaign, unknown country).
const NoneValue = "(none)"

// Cell is one column of a family.
type Cell struct {
	Qualifier string
	Value     []byte
}

// Totals are one merchant's metrics for one hour (or quarter hour, or
// minute). docs/metrics.md defines each.
type Totals struct {
	Events    int64 // events, bots excluded
	PageViews int64 // views: page_view and screen_view events
	BotEvents int64 // events from bots and crawlers, excluded from every other metric
	// Sessions that started in this period, their bounces (one event, a
	// view), engaged sessions and summed duration.
	Sessions        int64
	Bounces         int64
	EngagedSessions int64
	SessionMillis   int64
	Visitors        *hyperloglog.Sketch // distinct visitor keys; nil when none
	ByName          map[string]int64    // events by name
	Revenue         Money               // purchases minus refunds, by ISO 4217 currency
	UpdatedAt       int64               // Unix µs; set by the writer
	Generation      int64               // writes of the family so far
}

// Merge adds o into t. Counts add (saturating); sketches merge.
func (t *Totals) Merge(o *Totals) error {
	t.Events = addSat(t.Events, o.Events)
	t.PageViews = addSat(t.PageViews, o.PageViews)
	t.BotEvents = addSat(t.BotEvents, o.BotEvents)
	t.Sessions = addSat(t.Sessions, o.Sessions)
	t.Bounces = addSat(t.Bounces, o.Bounces)
	t.EngagedSessions = addSat(t.EngagedSessions, o.EngagedSessions)
	t.SessionMillis = addSat(t.SessionMillis, o.SessionMillis)
	t.ByName = addMap(t.ByName, o.ByName)
	t.Revenue = t.Revenue.Merge(o.Revenue)
	var err error
	t.Visitors, err = mergeSketch(t.Visitors, o.Visitors)
	return err
}

// VisitorCount estimates distinct visitors.
func (t *Totals) VisitorCount() int64 {
	if t.Visitors == nil {
		return 0
	}
	return int64(t.Visitors.Estimate())
}

func addMap(dst, src map[string]int64) map[string]int64 {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = make(map[string]int64, len(src))
	}
	for k, v := range src {
		dst[k] = addSat(dst[k], v)
	}
	return dst
}

func mergeSketch(dst, src *hyperloglog.Sketch) (*hyperloglog.Sketch, error) {
	if src == nil {
		return dst, nil
	}
	if dst == nil {
		return src.Clone(), nil
	}
	if err := dst.Merge(src); err != nil {
		return dst, fmt.Errorf("layout: merge sketch: %w", err)
	}
	return dst, nil
}

// Cells encodes t as the columns of one family.
func (t *Totals) Cells() ([]Cell, error) {
	cells := []Cell{
		{ColEvents, EncodeInt(t.Events)},
		{ColPageViews, EncodeInt(t.PageViews)},
		{ColBotEvents, EncodeInt(t.BotEvents)},
		{ColSessions, EncodeInt(t.Sessions)},
		{ColBounces, EncodeInt(t.Bounces)},
		{ColEngaged, EncodeInt(t.EngagedSessions)},
		{ColSessionMillis, EncodeInt(t.SessionMillis)},
		{ColUpdatedAt, EncodeInt(t.UpdatedAt)},
		{ColGeneration, EncodeInt(t.Generation)},
	}
	if t.Visitors != nil {
		b, err := t.Visitors.MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("layout: encode visitors: %w", err)
		}
		cells = append(cells, Cell{ColVisitors, b})
	}
	for _, k := range sortedKeys(t.ByName) {
		cells = append(cells, Cell{ColNamePrefix + k, EncodeInt(t.ByName[k])})
	}
	for _, k := range t.Revenue.Codes() {
		cells = append(cells, Cell{ColRevenuePrefix + k, EncodeAmount(t.Revenue[k])})
	}
	return cells, nil
}

// DecodeTotals decodes the cells of one family of a totals row. It returns
// nil when the family has no cells.
func DecodeTotals(row bigtable.Row, family string) (*Totals, error) {
	cells := RowCells(row, family)
	if len(cells) == 0 {
		return nil, nil
	}
	t, err := TotalsFromCells(cells)
	if err != nil {
		return nil, fmt.Errorf("layout: decode %s: %w", row.Key(), err)
	}
	return t, nil
}

// TotalsFromCells decodes the cells produced by Totals.Cells.
func TotalsFromCells(cells []Cell) (*Totals, error) {
	t := &Totals{}
	for _, it := range cells {
		q := it.Qualifier
		var err error
		switch {
		case q == ColVisitors:
			sk := NewVisitorSketch()
			if err = sk.UnmarshalBinary(it.Value); err == nil {
				t.Visitors = sk
			}
		case strings.HasPrefix(q, ColNamePrefix):
			if t.ByName == nil {
				t.ByName = map[string]int64{}
			}
			t.ByName[q[len(ColNamePrefix):]], err = DecodeInt(it.Value)
		case strings.HasPrefix(q, ColRevenuePrefix):
			var a Amount
			if a, err = DecodeAmount(it.Value); err == nil {
				t.Revenue = t.Revenue.Add(q[len(ColRevenuePrefix):], a)
			}
		default:
			var p *int64
			switch q {
			case ColEvents:
				p = &t.Events
			case ColPageViews:
				p = &t.PageViews
			case ColBotEvents:
				p = &t.BotEvents
			case ColSessions:
				p = &t.Sessions
			case ColBounces:
				p = &t.Bounces
			case ColEngaged:
				p = &t.EngagedSessions
			case ColSessionMillis:
				p = &t.SessionMillis
			case ColUpdatedAt:
				p = &t.UpdatedAt
			case ColGeneration:
				p = &t.Generation
			default:
				continue // a column from a newer layout: ignore
			}
			*p, err = DecodeInt(it.Value)
		}
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", q, err)
		}
	}
	return t, nil
}

// RowCells returns the cells of one family of a row as its last write left
// them: of each column its newest version, and only cells written together
// with the newest _at cell (same timestamp) when the family has one. Every
// write of a metrics family (OverwriteFamily, ReplaceFamily) stamps all its
// cells with one timestamp, so a write that arrives late with an older
// timestamp (a retried or zombie worker) can neither shadow a newer write
// nor bring back the columns it dropped.
func RowCells(row bigtable.Row, family string) []Cell {
	items := row[family]
	var stamp bigtable.Timestamp
	hasStamp := false
	for _, it := range items {
		if qualifier(it.Column) == ColUpdatedAt && (!hasStamp || it.Timestamp > stamp) {
			stamp, hasStamp = it.Timestamp, true
		}
	}
	cells := make([]Cell, 0, len(items))
	seen := make(map[string]bool, len(items))
	for _, it := range items {
		q := qualifier(it.Column)
		if seen[q] || (hasStamp && it.Timestamp != stamp) {
			continue // an older version (Bigtable returns the newest first), or another write's cell
		}
		seen[q] = true
		cells = append(cells, Cell{Qualifier: q, Value: it.Value})
	}
	return cells
}

// MarshalCells packs cells into one byte slice (for Beam coders and caches):
// per cell, the uvarint length and bytes of the qualifier, then of the value.
func MarshalCells(cells []Cell) []byte {
	n := 0
	for _, c := range cells {
		n += len(c.Qualifier) + len(c.Value) + 6
	}
	buf := make([]byte, 0, n)
	for _, c := range cells {
		buf = binary.AppendUvarint(buf, uint64(len(c.Qualifier)))
		buf = append(buf, c.Qualifier...)
		buf = binary.AppendUvarint(buf, uint64(len(c.Value)))
		buf = append(buf, c.Value...)
	}
	return buf
}

// UnmarshalCells is the inverse of MarshalCells.
func UnmarshalCells(b []byte) ([]Cell, error) {
	var cells []Cell
	for len(b) > 0 {
		var parts [2][]byte
		for i := range parts {
			l, n := binary.Uvarint(b)
			if n <= 0 || uint64(len(b)-n) < l {
				return nil, fmt.Errorf("layout: %w", errShort)
			}
			parts[i], b = b[n:n+int(l)], b[n+int(l):]
		}
		cells = append(cells, Cell{Qualifier: string(parts[0]), Value: parts[1]})
	}
	return cells, nil
}

// Item is one breakdown value's metrics: event metrics (events, views,
// revenue of the events with that value), session metrics (sessions with
// that value that started in the period; session-scoped dimensions only)
// and visitors.
type Item struct {
	Events          int64
	PageViews       int64
	Revenue         Money
	Sessions        int64
	Bounces         int64
	EngagedSessions int64
	SessionMillis   int64
	Visitors        *hyperloglog.Sketch // precision BreakdownPrecision
}

// Merge adds o into it.
func (it *Item) Merge(o *Item) error {
	it.Events = addSat(it.Events, o.Events)
	it.PageViews = addSat(it.PageViews, o.PageViews)
	it.Revenue = it.Revenue.Merge(o.Revenue)
	it.Sessions = addSat(it.Sessions, o.Sessions)
	it.Bounces = addSat(it.Bounces, o.Bounces)
	it.EngagedSessions = addSat(it.EngagedSessions, o.EngagedSessions)
	it.SessionMillis = addSat(it.SessionMillis, o.SessionMillis)
	var err error
	it.Visitors, err = mergeSketch(it.Visitors, o.Visitors)
	return err
}

// VisitorCount estimates distinct visitors.
func (it *Item) VisitorCount() int64 {
	if it.Visitors == nil {
		return 0
	}
	return int64(it.Visitors.Estimate())
}

// Empty reports whether it counts nothing.
func (it *Item) Empty() bool {
	return it.Events == 0 && it.Sessions == 0 && it.PageViews == 0 && len(it.Revenue) == 0 && it.Visitors == nil
}

// Breakdown is one dimension's values for one merchant-hour (or quarter
// hour): at most TopK values plus Other, so the values always add up to
// the totals (events, views and revenue; sessions for session-scoped
// dimensions).
type Breakdown struct {
	Values     map[string]*Item
	Other      Item
	UpdatedAt  int64
	Generation int64
}

// Merge adds o into b; call Truncate afterwards to bound it again.
func (b *Breakdown) Merge(o *Breakdown) error {
	if b.Values == nil {
		b.Values = make(map[string]*Item, len(o.Values))
	}
	for v, it := range o.Values {
		cur, ok := b.Values[v]
		if !ok {
			cur = &Item{}
			b.Values[v] = cur
		}
		if err := cur.Merge(it); err != nil {
			return err
		}
	}
	return b.Other.Merge(&o.Other)
}

// Truncate keeps the k values with the most events, then the most
// sessions (exit pages have sessions only), ties broken by value so the
// result is deterministic, and folds the rest into Other.
func (b *Breakdown) Truncate(k int) error {
	if len(b.Values) <= k {
		return nil
	}
	vals := make([]string, 0, len(b.Values))
	for v := range b.Values {
		vals = append(vals, v)
	}
	sort.Slice(vals, func(i, j int) bool {
		a, c := b.Values[vals[i]], b.Values[vals[j]]
		if a.Events != c.Events {
			return a.Events > c.Events
		}
		if a.Sessions != c.Sessions {
			return a.Sessions > c.Sessions
		}
		return vals[i] < vals[j]
	})
	for _, v := range vals[k:] {
		if err := b.Other.Merge(b.Values[v]); err != nil {
			return err
		}
		delete(b.Values, v)
	}
	return nil
}

// Cells encodes b as the columns of one family.
func (b *Breakdown) Cells() ([]Cell, error) {
	cells := make([]Cell, 0, len(b.Values)+3)
	cells = append(cells,
		Cell{ColUpdatedAt, EncodeInt(b.UpdatedAt)},
		Cell{ColGeneration, EncodeInt(b.Generation)})
	other, err := encodeItem(&b.Other)
	if err != nil {
		return nil, err
	}
	cells = append(cells, Cell{ColOther, other})
	vals := make([]string, 0, len(b.Values))
	for v := range b.Values {
		vals = append(vals, v)
	}
	sort.Strings(vals)
	for _, v := range vals {
		enc, err := encodeItem(b.Values[v])
		if err != nil {
			return nil, err
		}
		cells = append(cells, Cell{ColValuePrefix + v, enc})
	}
	return cells, nil
}

// DecodeBreakdown decodes one family of a breakdown row; nil when empty.
func DecodeBreakdown(row bigtable.Row, family string) (*Breakdown, error) {
	cells := RowCells(row, family)
	if len(cells) == 0 {
		return nil, nil
	}
	b, err := BreakdownFromCells(cells)
	if err != nil {
		return nil, fmt.Errorf("layout: decode %s: %w", row.Key(), err)
	}
	return b, nil
}

// BreakdownFromCells decodes the cells produced by Breakdown.Cells.
func BreakdownFromCells(cells []Cell) (*Breakdown, error) {
	b := &Breakdown{Values: make(map[string]*Item, len(cells))}
	for _, ri := range cells {
		q := ri.Qualifier
		var err error
		switch {
		case q == ColUpdatedAt:
			b.UpdatedAt, err = DecodeInt(ri.Value)
		case q == ColGeneration:
			b.Generation, err = DecodeInt(ri.Value)
		case q == ColOther:
			var it *Item
			if it, err = decodeItem(ri.Value); err == nil {
				b.Other = *it
			}
		case strings.HasPrefix(q, ColValuePrefix):
			var it *Item
			if it, err = decodeItem(ri.Value); err == nil {
				b.Values[q[len(ColValuePrefix):]] = it
			}
		}
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", q, err)
		}
	}
	return b, nil
}

const itemVersion = 2

// encodeItem: version byte 2; uvarints events, page views, sessions,
// bounces, engaged sessions, session milliseconds; uvarint number of
// currencies, then per currency its 3-letter code, a zig-zag varint of
// minor units and one byte of scale; then the sketch (MarshalBinary) to
// the end; no sketch means no visitors.
func encodeItem(it *Item) ([]byte, error) {
	buf := make([]byte, 0, 32)
	buf = append(buf, itemVersion)
	for _, v := range []int64{it.Events, it.PageViews, it.Sessions, it.Bounces, it.EngagedSessions, it.SessionMillis} {
		if v < 0 {
			return nil, fmt.Errorf("layout: negative count %d in a breakdown item", v)
		}
		buf = binary.AppendUvarint(buf, uint64(v))
	}
	curs := it.Revenue.Codes()
	buf = binary.AppendUvarint(buf, uint64(len(curs)))
	for _, c := range curs {
		if len(c) != 3 {
			return nil, fmt.Errorf("layout: currency %q is not 3 letters", c)
		}
		a := it.Revenue[c]
		buf = append(buf, c...)
		buf = binary.AppendVarint(buf, a.Minor)
		buf = append(buf, byte(a.Scale))
	}
	if it.Visitors != nil {
		var err error
		if buf, err = it.Visitors.AppendBinary(buf); err != nil {
			return nil, fmt.Errorf("layout: encode sketch: %w", err)
		}
	}
	return buf, nil
}

var errShort = errors.New("truncated item")

func decodeItem(b []byte) (*Item, error) {
	if len(b) == 0 || b[0] != itemVersion {
		return nil, fmt.Errorf("layout: unknown item version")
	}
	b = b[1:]
	it := &Item{}
	for _, p := range []*int64{&it.Events, &it.PageViews, &it.Sessions, &it.Bounces, &it.EngagedSessions, &it.SessionMillis} {
		u, n := binary.Uvarint(b)
		if n <= 0 || u > math.MaxInt64 {
			return nil, errShort
		}
		*p, b = int64(u), b[n:]
	}
	u, n := binary.Uvarint(b)
	if n <= 0 {
		return nil, errShort
	}
	b = b[n:]
	for i := uint64(0); i < u; i++ {
		if len(b) < 4 {
			return nil, errShort
		}
		cur := string(b[:3])
		v, n := binary.Varint(b[3:])
		if n <= 0 || len(b) < 3+n+1 || b[3+n] > MaxScale {
			return nil, errShort
		}
		it.Revenue = it.Revenue.Add(cur, Amount{Minor: v, Scale: int8(b[3+n])})
		b = b[3+n+1:]
	}
	if len(b) > 0 {
		sk := NewItemSketch()
		if err := sk.UnmarshalBinary(b); err != nil {
			return nil, fmt.Errorf("layout: decode sketch: %w", err)
		}
		it.Visitors = sk
	}
	return it, nil
}

// EncodeInt encodes a counter as Bigtable does for its own counters: 8 bytes,
// big-endian, two's complement.
func EncodeInt(v int64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(v))
	return b[:]
}

// DecodeInt is the inverse of EncodeInt.
func DecodeInt(b []byte) (int64, error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("layout: integer cell has %d bytes, want 8", len(b))
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

// ReplaceFamily returns the mutation that atomically replaces a row's family
// with cells: every existing cell of the family is deleted and the new ones
// set, in one row mutation, so a reader sees the old state or the new one.
// The sealed family is written this way (one writer at a time: the seal
// lease).
func ReplaceFamily(family string, cells []Cell, ts bigtable.Timestamp) *bigtable.Mutation {
	m := bigtable.NewMutation()
	m.DeleteCellsInFamily(family)
	for _, c := range cells {
		m.Set(family, c.Qualifier, ts, c.Value)
	}
	return m
}

// OverwriteFamily returns the plain (non-transactional) mutation that
// writes a family's whole new content at ts: every cell set at ts, and the
// columns of drop (written before, absent now) deleted below ts only.
// Nothing it does can undo a write with a newer timestamp, and RowCells
// serves only the newest write's cells, so the mutation may be applied
// twice, or late, without harm: the provisional and realtime families are
// written this way.
func OverwriteFamily(family string, cells []Cell, drop []string, ts bigtable.Timestamp) *bigtable.Mutation {
	m := bigtable.NewMutation()
	for _, q := range drop {
		m.DeleteTimestampRange(family, q, 0, ts)
	}
	for _, c := range cells {
		m.Set(family, c.Qualifier, ts, c.Value)
	}
	return m
}

func qualifier(column string) string {
	if i := strings.IndexByte(column, ':'); i >= 0 {
		return column[i+1:]
	}
	return column
}

func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// RowContent is the whole new content of one family of one row, as a
// writer sends it: its cells, and (provisional writes) the qualifiers the
// previous write of the row had that this one no longer has.
type RowContent struct {
	Cells []Cell
	Drop  []string
}

// UpdatedAt returns the value of the content's _at cell (0 when none).
func (c RowContent) UpdatedAt() int64 {
	for _, cell := range c.Cells {
		if cell.Qualifier == ColUpdatedAt {
			v, _ := DecodeInt(cell.Value)
			return v
		}
	}
	return 0
}
