package seal

import (
	"context"
	"time"

	"github.com/footfall/footfall/internal/layout"
	"github.com/footfall/footfall/pipelines/io/archive"
	"github.com/footfall/footfall/pipelines/transforms"
)

// Schedule says when the sealer seals an hour h:
//   - first, once h has settled: its values no longer depend on events
//     still to come (transforms.SettledAfter after it ends) and Grace has
//     passed — a sealed value never changes without new data;
//   - again whenever the archive holds events for h that the last seal did
//     not read, and then also every settled hour whose values depend on
//     h's events (transforms.DependentHours: sessions, deduplication and
//     attachment reach across hours);
//   - once more Final after h ends, on sources that cannot tell when new
//     events arrive.
type Schedule struct {
	Grace    time.Duration
	Final    time.Duration
	Lookback time.Duration // hours older than this are left alone
}

// DefaultSchedule: seal 2 minutes after an hour has settled (an hour
// after it ends), look back 4 days (ingest refuses events older than
// 72 hours); a source that cannot tell about late events is resealed
// after 24 hours.
var DefaultSchedule = Schedule{Grace: 2 * time.Minute, Final: 24 * time.Hour, Lookback: 96 * time.Hour}

// settledBy is the first instant hour h may be sealed.
func (sc Schedule) settledBy(h time.Time) time.Time {
	return h.Add(time.Hour + transforms.SettledAfter + sc.Grace)
}

// due says why hour h needs sealing now ("" when it does not), from its
// own seal record and archive.
func (sc Schedule) due(now, h time.Time, rec layout.Seal, st archive.HourStat, statKnown bool) string {
	if now.Before(sc.settledBy(h)) {
		return ""
	}
	end := h.Add(time.Hour)
	switch {
	case rec.SealedAt == 0 && statKnown && st.Rows == 0:
		return "" // nothing archived, nothing to seal
	case rec.SealedAt == 0:
		return "settled"
	case statKnown && (st.Rows != rec.Events || st.Newest.UnixMicro() > rec.ArchivedAt):
		return "new events"
	case !statKnown && sc.Final > 0 && !now.Before(end.Add(sc.Final)) && time.UnixMicro(rec.SealedAt).Before(end.Add(sc.Final)):
		return "final"
	}
	return ""
}

// Pass is what one sealer pass did.
type Pass struct {
	Summary
	SealedThrough time.Time
}

// SealClosedHours runs one sealer pass at now: it seals every hour of the
// lookback window that is due (Schedule), contiguous due hours together
// in chunks, compacting each hour's archive partition first, then advances
// sealed_through to the start of the first settled hour with archived
// events that has never been sealed (or to the end of the settled hours).
func (r *Runner) SealClosedHours(ctx context.Context, now time.Time, sc Schedule) (Pass, error) {
	start := time.Now()
	var pass Pass
	if err := r.Source.Check(ctx); err != nil {
		return pass, err
	}
	closedEnd := layout.Hour(now.Add(-sc.Grace - transforms.SettledAfter)) // hours before it have settled
	from := layout.Hour(now.Add(-sc.Lookback))
	seals, err := r.Records.Seals(ctx, from, closedEnd)
	if err != nil {
		return pass, err
	}
	type hourInfo struct {
		st     archive.HourStat
		known  bool
		reason string
	}
	infos := map[time.Time]hourInfo{}
	for h := from; h.Before(closedEnd); h = h.Add(time.Hour) {
		st, known, err := r.Source.Stat(ctx, h)
		if err != nil {
			return pass, err
		}
		infos[h] = hourInfo{st, known, sc.due(now, h, seals[h], st, known)}
	}
	// New events of an hour change the hours that depend on it too.
	for h, in := range infos {
		if in.reason != "new events" {
			continue
		}
		for _, d := range transforms.DependentHoursOf(h) {
			if di, ok := infos[d]; ok && di.reason == "" && seals[d].SealedAt != 0 {
				di.reason = "events of " + h.Format("2006-01-02T15")
				infos[d] = di
			}
		}
	}
	var due []time.Time
	for h := from; h.Before(closedEnd); h = h.Add(time.Hour) {
		if infos[h].reason != "" {
			due = append(due, h)
		}
	}
	sealed := map[time.Time]bool{}
	for h, s := range seals {
		sealed[h] = s.SealedAt != 0
	}
	for _, c := range chunks(due, r.chunkHours()) {
		for _, h := range c {
			if err := r.Source.Prepare(ctx, h); err != nil {
				return pass, err
			}
		}
		ch, err := r.runChunk(ctx, c[0], c[len(c)-1].Add(time.Hour), nil, false, infos[c[0]].reason)
		pass.add(ch)
		if err != nil {
			pass.Duration = time.Since(start)
			return pass, err
		}
		for _, h := range c {
			sealed[h] = true
		}
	}
	through := closedEnd
	for h := from; h.Before(closedEnd); h = h.Add(time.Hour) {
		in := infos[h]
		if !sealed[h] && (!in.known || in.st.Rows > 0) {
			through = h
			break
		}
	}
	if err := r.Records.SetSealedThrough(ctx, through); err != nil {
		return pass, err
	}
	pass.SealedThrough = through
	pass.Duration = time.Since(start)
	return pass, nil
}
