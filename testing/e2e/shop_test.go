package e2e

// Helpers for the ground-truth tests: one shared stack whose key file
// gives every test a merchant of its own (so tests cannot see each other's
// numbers), and a shop per test that sends traffic, keeps what ingest
// acknowledged and compares the query API with the truth of it
// (testing/truth).

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	json "github.com/goccy/go-json"

	"github.com/footfall/footfall/testing/localstack"
	"github.com/footfall/footfall/testing/truth"
)

// Merchants of the shared stack, one per test.
var sharedMerchants = []string{"revenue", "attribution", "sessions", "dedup", "final", "currency", "visitors", "pages", "mix", "tz", "horizon"}

var shared struct {
	once sync.Once
	st   *localstack.Stack
	dir  string
	err  error
}

// keyFile writes a key file with the demo merchant and merchants (keys
// derived from the id, see keysOf), each entry extended by extra[id].
func keyFile(dir string, merchants []string, extra map[string]map[string]any) (string, error) {
	list := []map[string]any{{"id": "demo", "write_keys": []string{"demo-write-key"}, "api_secrets": []string{"demo-api-secret"}, "read_keys": []string{"demo-read-key"}}}
	for _, m := range merchants {
		k := keysOf(m)
		e := map[string]any{"id": m, "write_keys": []string{k.WriteKey}, "api_secrets": []string{k.APISecret}, "read_keys": []string{m + "-read"},
			"rate_limit": map[string]any{"events_per_second": 20000, "burst": 40000}}
		for k, v := range extra[m] {
			e[k] = v
		}
		list = append(list, e)
	}
	b, err := json.Marshal(map[string]any{"merchants": list})
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "keys.json")
	return path, os.WriteFile(path, b, 0o600)
}

func keysOf(merchant string) truth.Keys {
	return truth.Keys{WriteKey: merchant + "-write", APISecret: merchant + "-secret"}
}

// sharedStack starts, once for the whole package, a stack that seals
// closed hours within seconds and knows every merchant of
// sharedMerchants. TestMain stops it.
func sharedStack(t *testing.T) *localstack.Stack {
	t.Helper()
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "footfall-e2e-shared")
		if shared.err != nil {
			return
		}
		var kf string
		if kf, shared.err = keyFile(shared.dir, sharedMerchants, nil); shared.err != nil {
			return
		}
		shared.st, shared.err = localstack.StartOnFreePorts(context.Background(), localstack.Options{
			BinDir: binDir, DataDir: filepath.Join(shared.dir, "data"), Echo: discard{},
			PipelineArgs: []string{"--early-firing=2s"},
			SealEvery:    2 * time.Second, SealGrace: time.Second,
			Env: []string{"KEYS_FILE=" + kf},
		})
	})
	if shared.err != nil {
		t.Fatalf("shared stack: %v", shared.err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			logTails(t, filepath.Join(shared.dir, "data"))
		}
	})
	return shared.st
}

// stopShared stops the shared stack, if it was started.
func stopShared() {
	if shared.st != nil {
		shared.st.Stop()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func logTails(t *testing.T, dataDir string) {
	for _, name := range []string{localstack.Pipeline, localstack.Sealer, localstack.Ingest, localstack.QueryAPI} {
		b, _ := os.ReadFile(filepath.Join(dataDir, "logs", name+".log"))
		if len(b) > 3000 {
			b = b[len(b)-3000:]
		}
		t.Logf("tail of %s log:\n%s", name, b)
	}
}

// shop is one merchant of a test: what it sent and what ingest
// acknowledged.
type shop struct {
	id     string
	st     *localstack.Stack
	api    *truth.API
	sender *truth.Sender
	cfg    truth.Config
	sent   truth.Sent
}

// newShop is merchant id of the shared stack.
func newShop(t *testing.T, id string) *shop {
	t.Helper()
	return shopOn(sharedStack(t), id, id+"-read", keysOf(id))
}

func shopOn(st *localstack.Stack, id, readKey string, k truth.Keys) *shop {
	return &shop{id: id, st: st,
		api:    &truth.API{URL: st.QueryURL(), ReadKey: readKey},
		sender: &truth.Sender{IngestURL: st.IngestURL(), Keys: map[string]truth.Keys{id: k}}}
}

// send sends requests; every message must be accepted. A refusal fails
// the test but not at once: the truth is of what was acknowledged, so the
// comparisons still say what else is wrong.
func (s *shop) send(t *testing.T, reqs ...truth.Request) *truth.Sent {
	t.Helper()
	sent := s.sendAllowingRejects(t, reqs...)
	if len(sent.Rejected) > 0 {
		t.Errorf("ingest refused messages it should accept:\n  %s", strings.Join(sent.Rejected, "\n  "))
	}
	return sent
}

// sendLenient sends requests and keeps what ingest acknowledged, logging
// what it refused: for tests about something else than what ingest
// accepts (truth.Mix has unparseable amounts, which ingest must accept).
func (s *shop) sendLenient(t *testing.T, reqs ...truth.Request) *truth.Sent {
	t.Helper()
	sent := s.sendAllowingRejects(t, reqs...)
	if len(sent.Rejected) > 0 {
		t.Logf("ingest refused %d requests (this test counts only what it acknowledged); the first: %s", len(sent.Rejected), sent.Rejected[0])
	}
	return sent
}

// sendAllowingRejects sends requests and keeps what ingest acknowledged.
func (s *shop) sendAllowingRejects(t *testing.T, reqs ...truth.Request) *truth.Sent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sent, err := s.sender.Send(ctx, reqs)
	if err != nil {
		t.Fatalf("sending to ingest: %v", err)
	}
	s.sent.Add(sent)
	return sent
}

// model is the truth of everything acknowledged so far.
func (s *shop) model(t *testing.T) *truth.Model {
	t.Helper()
	m, err := truth.Compute(s.sent.Hits, s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// eventually waits until the query API serves the truth of what was
// acknowledged, as c says, and fails the test with the last differences
// otherwise.
func (s *shop) eventually(t *testing.T, limit time.Duration, what string, c truth.Check) {
	t.Helper()
	c.Merchant = s.id
	m := s.model(t)
	start := time.Now()
	var last []truth.Mismatch
	deadline := time.Now().Add(limit)
	var diff string
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		last = s.api.Compare(ctx, m, c)
		cancel()
		diff = truth.Describe(last, 40)
		// A refused request (an unknown metric or dimension, a zone the API
		// cannot serve) does not change by waiting.
		if diff == "" || time.Now().After(deadline) || allRefused(last) {
			break
		}
		time.Sleep(2 * time.Second)
	}
	if diff != "" {
		t.Errorf("%s: the query API never served the ground truth within %s; last %s", what, limit, diff)
		return
	}
	t.Logf("%s: matched after %.1f s", what, time.Since(start).Seconds())
}

// Checks used by most tests.

// streamed compares, while hours are provisional, what is exact before
// sealing: events, page views, visitors and revenue per hour and in total,
// and the event-scoped breakdowns.
func streamed(from, to time.Time) truth.Check {
	return truth.Check{From: from, To: to, Intervals: []string{"hour"}, Metrics: truth.EventMetrics, Summary: true, Dimensions: []string{"event", "page"}}
}

// sealed compares every metric and every dimension of sealed hours.
func sealed(from, to time.Time) truth.Check {
	return truth.Check{From: from, To: to, Intervals: []string{"hour"}, Metrics: truth.AllMetrics, Summary: true, Dimensions: truth.Dimensions, Sealed: true}
}

// hourA is the hour the tests put their events in: three hours back, so
// that the streaming job still holds it and the sealer may already seal it.
func hourA() time.Time { return time.Now().UTC().Truncate(time.Hour).Add(-3 * time.Hour) }

// nextHour is the end of the current hour.
func nextHour() time.Time { return time.Now().UTC().Truncate(time.Hour).Add(time.Hour) }

func minutes(n float64) time.Duration { return time.Duration(n * float64(time.Minute)) }

// visitor is a web visitor of merchant m.
func visitor(m, name string, ga4 bool, ua, country string) *truth.Visitor {
	return &truth.Visitor{Merchant: m, Anon: fmt.Sprintf("%s-%s", m, name), GA4: ga4, UA: ua, Country: country}
}

// requests packs each visitor's messages: GA4 messages one request per
// message, Segment messages in batches.
func requests(m string, msgs ...truth.Msg) []truth.Request {
	var seg []truth.Msg
	var out []truth.Request
	for _, msg := range msgs {
		if msg.GA4 {
			out = append(out, truth.GA4(m, msg))
		} else {
			seg = append(seg, msg)
		}
	}
	return append(out, truth.Segment(m, seg...)...)
}

func allRefused(ms []truth.Mismatch) bool {
	for _, m := range ms {
		if !strings.HasPrefix(m.Got, "refused: ") {
			return false
		}
	}
	return true
}
