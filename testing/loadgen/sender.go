package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	json "github.com/goccy/go-json"

	"github.com/footfall/footfall/testing/truth"
)

// Sender posts generated events (truth.Event) to ingest's /v1/batch and
// retries each batch until it is settled, as a Segment SDK does: a 2xx
// acknowledges the whole batch; a 400 acknowledges the messages it does not
// list as rejected (docs/ingest.md, partial batches) and is not retried;
// 429, 5xx and transport errors are retried with the same message ids (the
// idempotency key) after Retry-After, or after a capped backoff when there
// is none. It records which events were acknowledged, so that a ground
// truth can be computed from them alone, and every attempt.
type Sender struct {
	// URL is the ingest base URL (loopback only).
	URL      string
	WriteKey string
	// Concurrency is the number of batches in flight (default 4).
	Concurrency int
	// Timeout bounds one request (default 30 s).
	Timeout time.Duration
	// MaxBackoff caps the wait between retries without Retry-After, and
	// any Retry-After (default 2 s).
	MaxBackoff time.Duration
	// GiveUp abandons a batch not settled this long after its first
	// attempt (default 5 min); its unacknowledged events are Abandoned.
	GiveUp time.Duration
	// OnAcked, when set, receives the events of each batch as they are
	// acknowledged (from several goroutines at once).
	OnAcked func([]truth.Event)
	// OnAttempt, when set, receives every request's outcome (from several
	// goroutines at once).
	OnAttempt func(Attempt)
	// OnStart, when set, receives every request as it starts (Batch, Try,
	// Events and Start set), before OnAttempt receives its outcome.
	OnStart func(Attempt)
}

// Attempt is one request of a batch.
type Attempt struct {
	Batch      int // the batch's number, in the order batches were taken
	Try        int // 1 for the first request of the batch
	Events     int
	Start, End time.Time
	Status     int    // 0 for a transport error
	Err        string // transport error, or the answer's error message
	RetryAfter string // the Retry-After header, if any
}

// SendStats counts what a Send did.
type SendStats struct {
	Batches   int64 // batches taken
	Requests  int64 // requests made, retries included
	Events    int64 // events in the batches taken
	Acked     int64 // events acknowledged (2xx, or accepted in a 400)
	Rejected  int64 // events a 400 rejected (never retried)
	Abandoned int64 // events of batches given up after GiveUp
	// ByStatus counts answers by HTTP status; 0 counts transport errors.
	ByStatus map[int]int64
	// RetryAfterMissing counts 429 and 503 answers without Retry-After.
	RetryAfterMissing int64
	// Inconsistent counts 400 answers whose "accepted" disagrees with
	// their errors list (their events are taken as accepted but for the
	// listed ones).
	Inconsistent int64
}

// Send posts every batch read from batches until the channel is closed (or
// ctx is done) and every batch taken is settled or abandoned.
func (s *Sender) Send(ctx context.Context, batches <-chan []truth.Event) (SendStats, error) {
	if err := CheckLoopback(s.URL); err != nil {
		return SendStats{}, err
	}
	conc := s.Concurrency
	if conc <= 0 {
		conc = 4
	}
	timeout, maxBackoff, giveUp := s.Timeout, s.MaxBackoff, s.GiveUp
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	if maxBackoff <= 0 {
		maxBackoff = 2 * time.Second
	}
	if giveUp <= 0 {
		giveUp = 5 * time.Minute
	}
	client := &http.Client{Timeout: timeout, Transport: &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}}
	defer client.CloseIdleConnections()

	var (
		mu    sync.Mutex
		st    = SendStats{ByStatus: map[int]int64{}}
		seq   atomic.Int64
		wg    sync.WaitGroup
		count = func(f func(*SendStats)) { mu.Lock(); f(&st); mu.Unlock() }
	)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				var b []truth.Event
				var ok bool
				select {
				case b, ok = <-batches:
				case <-ctx.Done():
				}
				if !ok {
					return
				}
				n := int(seq.Add(1)) - 1
				count(func(st *SendStats) { st.Batches++; st.Events += int64(len(b)) })
				s.settle(ctx, client, n, b, maxBackoff, giveUp, count)
			}
		}()
	}
	wg.Wait()
	return st, ctx.Err()
}

// settle sends one batch until it is acknowledged, rejected or abandoned.
func (s *Sender) settle(ctx context.Context, client *http.Client, n int, b []truth.Event, maxBackoff, giveUp time.Duration, count func(func(*SendStats))) {
	body := truth.Batch(b)
	first := time.Now()
	backoff := 100 * time.Millisecond
	for try := 1; ; try++ {
		var onStart func(time.Time)
		if s.OnStart != nil {
			onStart = func(at time.Time) { s.OnStart(Attempt{Batch: n, Try: try, Events: len(b), Start: at}) }
		}
		a := s.post(ctx, client, body, onStart)
		a.Batch, a.Try, a.Events = n, try, len(b)
		if s.OnAttempt != nil {
			s.OnAttempt(a)
		}
		retryable := a.Status == 0 || a.Status == http.StatusTooManyRequests || a.Status >= 500
		count(func(st *SendStats) {
			st.Requests++
			st.ByStatus[a.Status]++
			if (a.Status == http.StatusTooManyRequests || a.Status == http.StatusServiceUnavailable) && a.RetryAfter == "" {
				st.RetryAfterMissing++
			}
		})
		switch {
		case a.Status/100 == 2:
			s.acked(b, count)
			return
		case a.Status == http.StatusBadRequest:
			acc, rej, consistent := partition(b, a.Err)
			s.acked(acc, count)
			count(func(st *SendStats) {
				st.Rejected += int64(len(rej))
				if !consistent {
					st.Inconsistent++
				}
			})
			return
		case !retryable:
			count(func(st *SendStats) { st.Rejected += int64(len(b)) })
			return
		}
		wait := backoff
		if secs, err := strconv.Atoi(a.RetryAfter); err == nil && secs >= 0 {
			wait = time.Duration(secs) * time.Second
		} else {
			backoff = min(backoff*2, maxBackoff)
		}
		wait = min(wait, maxBackoff)
		if time.Since(first)+wait > giveUp || ctx.Err() != nil {
			count(func(st *SendStats) { st.Abandoned += int64(len(b)) })
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

func (s *Sender) acked(b []truth.Event, count func(func(*SendStats))) {
	if len(b) == 0 {
		return
	}
	count(func(st *SendStats) { st.Acked += int64(len(b)) })
	if s.OnAcked != nil {
		s.OnAcked(b)
	}
}

// post makes one request. For a 400 the body is kept in Err, for
// partition to read.
func (s *Sender) post(ctx context.Context, client *http.Client, body []byte, onStart func(time.Time)) Attempt {
	a := Attempt{Start: time.Now()}
	if onStart != nil {
		onStart(a.Start)
	}
	defer func() { a.End = time.Now() }()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(s.URL, "/")+"/v1/batch", bytes.NewReader(body))
	if err != nil {
		a.Err = err.Error()
		a.End = time.Now()
		return a
	}
	req.SetBasicAuth(s.WriteKey, "")
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		a.Err = err.Error()
		a.End = time.Now()
		return a
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	a.End = time.Now()
	if err != nil {
		// The status line came but not the whole answer: treat it as a
		// transport error (the batch is retried; a 2xx cut short is
		// not an acknowledgement the client could rely on).
		a.Err = fmt.Sprintf("reading a %d answer: %v", resp.StatusCode, err)
		return a
	}
	a.Status = resp.StatusCode
	a.RetryAfter = resp.Header.Get("Retry-After")
	if a.Status/100 != 2 {
		a.Err = string(rb)
	}
	return a
}

// partition splits a batch answered 400 into the messages ingest accepted
// and those it rejected, from the answer's errors list (docs/ingest.md). An
// answer without the list (a request-level error) accepted nothing.
// consistent is false when the answer's "accepted" count disagrees.
func partition(b []truth.Event, answer string) (accepted, rejected []truth.Event, consistent bool) {
	var r struct {
		Accepted int `json:"accepted"`
		Errors   []struct {
			MessageID string `json:"messageId"`
		} `json:"errors"`
	}
	if err := json.Unmarshal([]byte(answer), &r); err != nil || len(r.Errors) == 0 {
		return nil, b, r.Accepted == 0
	}
	bad := map[string]bool{}
	for _, e := range r.Errors {
		bad[e.MessageID] = true
	}
	for _, e := range b {
		if bad[e.ID] {
			rejected = append(rejected, e)
		} else {
			accepted = append(accepted, e)
		}
	}
	return accepted, rejected, len(accepted) == r.Accepted
}
