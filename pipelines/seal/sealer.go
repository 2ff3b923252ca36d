package seal

import (
	"context"
	"time"

	"github.com/footfall/footfall/internal/layout"
	"github.com/footfall/footfall/pipelines/io/archive"
	"github.com/footfall/footfall/pipelines/transforms"
)

// Schedule says when the sealer seals an hour h:
//   - first, once h has closed and Grace has passed (h+1h+Grace);
//   - again whenever the archive holds events for h that the last seal did
//     not read (sources that can tell: the local archive);
//   - again once the session horizon has passed (the end of
//     transforms.SessionInputRange of h, plus Grace): sessions that start
//     in h are complete only then;
//   - once more Final after h ends (default 24 h), to take in late events
//     on sources that cannot tell when they arrive.
type Schedule struct {
	Grace    time.Duration
	Final    time.Duration
	Lookback time.Duration // hours older than this are left alone
}

// DefaultSchedule: seal 2 minutes after an hour closes, re-seal after the
// session horizon and after 24 hours, look back 4 days (ingest refuses
// events older than 72 hours).
var DefaultSchedule = Schedule{Grace: 2 * time.Minute, Final: 24 * time.Hour, Lookback: 96 * time.Hour}

// due says why hour h needs sealing now ("" when it does not).
func (sc Schedule) due(now, h time.Time, rec layout.Seal, st archive.HourStat, statKnown bool) string {
	end := h.Add(time.Hour)
	if now.Before(end.Add(sc.Grace)) {
		return ""
	}
	sealedAt := time.UnixMicro(rec.SealedAt)
	switch {
	case rec.SealedAt == 0 && statKnown && st.Rows == 0:
		return "" // nothing archived, nothing to seal
	case rec.SealedAt == 0:
		return "closed"
	case statKnown && (st.Rows != rec.Events || st.Newest.UnixMicro() > rec.ArchivedAt):
		return "new events"
	}
	_, horizon := transforms.InputRange(h, end)
	if !now.Before(horizon.Add(sc.Grace)) && sealedAt.Before(horizon.Add(sc.Grace)) {
		return "session horizon"
	}
	if sc.Final > 0 && !now.Before(end.Add(sc.Final)) && sealedAt.Before(end.Add(sc.Final)) {
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
// sealed_through to the start of the first closed hour with archived
// events that has never been sealed (or to the end of the closed hours).
func (r *Runner) SealClosedHours(ctx context.Context, now time.Time, sc Schedule) (Pass, error) {
	start := time.Now()
	var pass Pass
	if err := r.Source.Check(ctx); err != nil {
		return pass, err
	}
	closedEnd := layout.Hour(now.Add(-sc.Grace)) // hours before it have closed, grace included
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
	var due []time.Time
	for h := from; h.Before(closedEnd); h = h.Add(time.Hour) {
		st, known, err := r.Source.Stat(ctx, h)
		if err != nil {
			return pass, err
		}
		reason := sc.due(now, h, seals[h], st, known)
		infos[h] = hourInfo{st, known, reason}
		if reason != "" {
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
