// Package pubsubemu is an in-memory Pub/Sub server for the local stack
// (testing/cmd/pubsub-emulator) and tests, reached with the official
// clients through PUBSUB_EMULATOR_HOST.
//
// It replaces pstest (cloud.google.com/go/pubsub/v2/pstest) in the local
// stack because pstest keeps every message ever published, deletes a
// message left unleased for 10 minutes whatever the subscription's
// retention, and walks every unacknowledged message on each pull. Here a
// subscription keeps a message exactly until it is acknowledged — there is
// no age-based deletion — and drops it (and, once no subscription holds it,
// its memory) on the acknowledgement; a delivered message whose ack
// deadline passes is delivered again; a pull costs time proportional to
// the messages it returns, not to the backlog. Stats reports each
// subscription's backlog (messages and the oldest unacknowledged message's
// age), which ingest's back-pressure reads locally.
//
// It serves the subset of the API footfall and its tests use: topics and
// subscriptions (create, get, list, delete), Publish, Pull, StreamingPull,
// Acknowledge and ModifyAckDeadline. Push, filters, ordering, dead-letter
// and retry policies, exactly-once delivery, snapshots, seek and schemas
// are refused or unimplemented. Messages live in memory only: it is for
// local runs and tests, never production.
package pubsubemu

import (
	"cmp"
	"container/heap"
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Ack deadline bounds (seconds), as in Pub/Sub.
const (
	DefaultAckDeadline = 10
	MaxAckDeadline     = 600
)

// Options configure a Server.
type Options struct {
	// Now is the clock (tests move it to expire leases); default time.Now.
	Now func() time.Time
	// PullWait is how long a Pull without return_immediately waits for a
	// message before answering empty (default 1 s).
	PullWait time.Duration
}

// Server is the in-memory Pub/Sub service. Register it on a gRPC server
// (Register) or start one with Listen.
type Server struct {
	pubsubpb.UnimplementedPublisherServer
	pubsubpb.UnimplementedSubscriberServer

	now      func() time.Time
	pullWait time.Duration
	nextID   atomic.Uint64

	mu     sync.RWMutex
	topics map[string]*topic
	subs   map[string]*subscription
}

// New returns an empty Server.
func New(o Options) *Server {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.PullWait <= 0 {
		o.PullWait = time.Second
	}
	return &Server{now: o.Now, pullWait: o.PullWait, topics: map[string]*topic{}, subs: map[string]*subscription{}}
}

// Register attaches the Publisher and Subscriber services to g.
func (s *Server) Register(g *grpc.Server) {
	pubsubpb.RegisterPublisherServer(g, s)
	pubsubpb.RegisterSubscriberServer(g, s)
}

// MaxRequestBytes is the largest request the gRPC server built by
// NewGRPCServer accepts (Pub/Sub's own limit is 10 MB per Publish).
const MaxRequestBytes = 16 << 20

// NewGRPCServer returns a gRPC server with s registered.
func (s *Server) NewGRPCServer() *grpc.Server {
	g := grpc.NewServer(grpc.MaxRecvMsgSize(MaxRequestBytes))
	s.Register(g)
	return g
}

// Start serves s over gRPC on addr ("127.0.0.1:0" picks a port) and
// returns the address it listens on and a function that stops it.
func (s *Server) Start(addr string) (string, func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("pubsubemu: listen on %s: %w", addr, err)
	}
	g := s.NewGRPCServer()
	go g.Serve(ln)
	return ln.Addr().String(), g.Stop, nil
}

type topic struct {
	proto *pubsubpb.Topic
	// subs is replaced, never changed in place, under Server.mu.
	subs []*subscription
}

// --- names -----------------------------------------------------------------

// checkName accepts "projects/<project>/<kind>/<id>".
func checkName(name, kind string) error {
	p := strings.Split(name, "/")
	if len(p) != 4 || p[0] != "projects" || p[1] == "" || p[2] != kind || p[3] == "" {
		return status.Errorf(codes.InvalidArgument, "invalid %s name %q: want projects/<project>/%s/<id>", strings.TrimSuffix(kind, "s"), name, kind)
	}
	return nil
}

func project(name string) string {
	p := strings.SplitN(name, "/", 3)
	if len(p) < 2 {
		return ""
	}
	return p[1]
}

// --- topics ------------------------------------------------------------------

// CreateTopic creates a topic.
func (s *Server) CreateTopic(_ context.Context, t *pubsubpb.Topic) (*pubsubpb.Topic, error) {
	if err := checkName(t.GetName(), "topics"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.topics[t.Name]; ok {
		return nil, status.Errorf(codes.AlreadyExists, "topic %q already exists", t.Name)
	}
	s.topics[t.Name] = &topic{proto: proto.Clone(t).(*pubsubpb.Topic)}
	return t, nil
}

// GetTopic returns a topic.
func (s *Server) GetTopic(_ context.Context, req *pubsubpb.GetTopicRequest) (*pubsubpb.Topic, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.topics[req.GetTopic()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "topic %q not found", req.GetTopic())
	}
	return t.proto, nil
}

// ListTopics lists a project's topics (one page).
func (s *Server) ListTopics(_ context.Context, req *pubsubpb.ListTopicsRequest) (*pubsubpb.ListTopicsResponse, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	resp := &pubsubpb.ListTopicsResponse{}
	for name, t := range s.topics {
		if "projects/"+project(name) == req.GetProject() {
			resp.Topics = append(resp.Topics, t.proto)
		}
	}
	slices.SortFunc(resp.Topics, func(a, b *pubsubpb.Topic) int { return cmp.Compare(a.Name, b.Name) })
	return resp, nil
}

// ListTopicSubscriptions lists the subscriptions of a topic (one page).
func (s *Server) ListTopicSubscriptions(_ context.Context, req *pubsubpb.ListTopicSubscriptionsRequest) (*pubsubpb.ListTopicSubscriptionsResponse, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.topics[req.GetTopic()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "topic %q not found", req.GetTopic())
	}
	resp := &pubsubpb.ListTopicSubscriptionsResponse{}
	for _, sub := range t.subs {
		resp.Subscriptions = append(resp.Subscriptions, sub.name)
	}
	slices.Sort(resp.Subscriptions)
	return resp, nil
}

// DeleteTopic deletes a topic; its subscriptions stay, detached, and keep
// their backlog.
func (s *Server) DeleteTopic(_ context.Context, req *pubsubpb.DeleteTopicRequest) (*emptypb.Empty, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.topics[req.GetTopic()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "topic %q not found", req.GetTopic())
	}
	for _, sub := range t.subs {
		sub.mu.Lock()
		sub.proto.Topic = "_deleted-topic_"
		sub.mu.Unlock()
	}
	delete(s.topics, req.GetTopic())
	return &emptypb.Empty{}, nil
}

// Publish stores messages for every subscription of the topic and returns
// their ids once they are stored.
func (s *Server) Publish(_ context.Context, req *pubsubpb.PublishRequest) (*pubsubpb.PublishResponse, error) {
	msgs := req.GetMessages()
	if len(msgs) == 0 {
		return nil, status.Errorf(codes.InvalidArgument, "publish to %q: no messages", req.GetTopic())
	}
	for i, m := range msgs {
		if len(m.Data) == 0 && len(m.Attributes) == 0 {
			return nil, status.Errorf(codes.InvalidArgument, "publish to %q: message %d has neither data nor attributes", req.GetTopic(), i)
		}
	}
	s.mu.RLock()
	t, ok := s.topics[req.GetTopic()]
	var subs []*subscription
	if ok {
		subs = t.subs
	}
	s.mu.RUnlock()
	if !ok {
		return nil, status.Errorf(codes.NotFound, "topic %q not found; create it first", req.GetTopic())
	}
	now := s.now()
	ts := timestamppb.New(now)
	n := uint64(len(msgs))
	first := s.nextID.Add(n) - n + 1
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = strconv.FormatUint(first+uint64(i), 10)
		m.MessageId, m.PublishTime = ids[i], ts
	}
	for _, sub := range subs {
		sub.enqueue(msgs, now)
	}
	return &pubsubpb.PublishResponse{MessageIds: ids}, nil
}

// --- subscriptions -----------------------------------------------------------

// subscription holds one subscription's messages from publish to
// acknowledgement.
type subscription struct {
	name string

	mu    sync.Mutex
	proto *pubsubpb.Subscription
	// fresh holds messages never delivered, in publish order; again those
	// whose lease expired or was handed back (skipping any acknowledged
	// meanwhile). delivered holds every delivered, unacknowledged message
	// (leased or in again) by sequence number; leases their deadlines.
	fresh, again fifo
	delivered    map[uint64]*entry
	peak         int // largest len(delivered) since the map was last rebuilt
	leases       leaseHeap
	seq          uint64
	wake         chan struct{} // closed when messages become available
	deleted      bool
	counts       Counts
}

// Counts are a subscription's cumulative message counts.
type Counts struct {
	Published  uint64 // messages the subscription received from its topic
	Deliveries uint64 // deliveries, redeliveries included
	Acked      uint64 // messages acknowledged (and dropped)
	Expired    uint64 // leases that ran out: the message was delivered again
	Nacked     uint64 // leases handed back (ModifyAckDeadline 0)
}

// CreateSubscription creates a pull subscription of an existing topic. A
// message published before the subscription existed is not delivered to it.
func (s *Server) CreateSubscription(_ context.Context, req *pubsubpb.Subscription) (*pubsubpb.Subscription, error) {
	if err := checkName(req.GetName(), "subscriptions"); err != nil {
		return nil, err
	}
	switch {
	case req.GetPushConfig().GetPushEndpoint() != "" || req.GetBigqueryConfig() != nil || req.GetCloudStorageConfig() != nil:
		return nil, status.Error(codes.InvalidArgument, "this emulator supports pull subscriptions only")
	case req.GetFilter() != "" || req.GetEnableMessageOrdering() || req.GetDeadLetterPolicy() != nil ||
		req.GetRetryPolicy() != nil || req.GetEnableExactlyOnceDelivery():
		return nil, status.Error(codes.InvalidArgument, "this emulator supports no filter, ordering, dead-letter or retry policy, or exactly-once delivery")
	}
	ad := req.GetAckDeadlineSeconds()
	if ad == 0 {
		ad = DefaultAckDeadline
	}
	if ad < DefaultAckDeadline || ad > MaxAckDeadline {
		return nil, status.Errorf(codes.InvalidArgument, "ack_deadline_seconds must be %d-%d, got %d", DefaultAckDeadline, MaxAckDeadline, ad)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.subs[req.Name]; ok {
		return nil, status.Errorf(codes.AlreadyExists, "subscription %q already exists", req.Name)
	}
	t, ok := s.topics[req.GetTopic()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "topic %q not found", req.GetTopic())
	}
	p := proto.Clone(req).(*pubsubpb.Subscription)
	p.AckDeadlineSeconds = ad
	p.State = pubsubpb.Subscription_ACTIVE
	sub := &subscription{name: req.Name, proto: p, delivered: map[uint64]*entry{}}
	s.subs[req.Name] = sub
	t.subs = append(slices.Clone(t.subs), sub)
	return proto.Clone(p).(*pubsubpb.Subscription), nil
}

func (s *Server) sub(name string) (*subscription, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sub, ok := s.subs[name]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "subscription %q not found", name)
	}
	return sub, nil
}

// GetSubscription returns a subscription.
func (s *Server) GetSubscription(_ context.Context, req *pubsubpb.GetSubscriptionRequest) (*pubsubpb.Subscription, error) {
	sub, err := s.sub(req.GetSubscription())
	if err != nil {
		return nil, err
	}
	sub.mu.Lock()
	defer sub.mu.Unlock()
	return proto.Clone(sub.proto).(*pubsubpb.Subscription), nil
}

// ListSubscriptions lists a project's subscriptions (one page).
func (s *Server) ListSubscriptions(_ context.Context, req *pubsubpb.ListSubscriptionsRequest) (*pubsubpb.ListSubscriptionsResponse, error) {
	s.mu.RLock()
	var subs []*subscription
	for name, sub := range s.subs {
		if "projects/"+project(name) == req.GetProject() {
			subs = append(subs, sub)
		}
	}
	s.mu.RUnlock()
	resp := &pubsubpb.ListSubscriptionsResponse{}
	for _, sub := range subs {
		sub.mu.Lock()
		resp.Subscriptions = append(resp.Subscriptions, proto.Clone(sub.proto).(*pubsubpb.Subscription))
		sub.mu.Unlock()
	}
	slices.SortFunc(resp.Subscriptions, func(a, b *pubsubpb.Subscription) int { return cmp.Compare(a.Name, b.Name) })
	return resp, nil
}

// DeleteSubscription deletes a subscription and its backlog.
func (s *Server) DeleteSubscription(_ context.Context, req *pubsubpb.DeleteSubscriptionRequest) (*emptypb.Empty, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.subs[req.GetSubscription()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "subscription %q not found", req.GetSubscription())
	}
	delete(s.subs, sub.name)
	for _, t := range s.topics {
		if i := slices.Index(t.subs, sub); i >= 0 {
			t.subs = slices.Delete(slices.Clone(t.subs), i, i+1)
		}
	}
	sub.mu.Lock()
	sub.deleted = true
	sub.fresh, sub.again, sub.delivered, sub.leases = fifo{}, fifo{}, nil, nil
	sub.signal()
	sub.mu.Unlock()
	return &emptypb.Empty{}, nil
}

// enqueue appends published messages.
func (sub *subscription) enqueue(msgs []*pubsubpb.PubsubMessage, now time.Time) {
	es := make([]entry, len(msgs)) // one allocation per publish
	at := now.UnixNano()
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.deleted {
		return
	}
	for i, m := range msgs {
		sub.seq++
		es[i] = entry{msg: m, published: at, seq: sub.seq}
		sub.fresh.push(&es[i])
	}
	sub.counts.Published += uint64(len(msgs))
	sub.signal()
}

// signal wakes waiting pulls. sub.mu is held.
func (sub *subscription) signal() {
	if sub.wake != nil {
		close(sub.wake)
		sub.wake = nil
	}
}

// expire hands back every message whose lease ran out by now. sub.mu is held.
func (sub *subscription) expire(now time.Time) {
	due := sub.leases.expired(now, nil)
	for _, e := range due {
		e.deadline = time.Time{}
		sub.again.push(e)
	}
	if len(due) > 0 {
		sub.counts.Expired += uint64(len(due))
		sub.signal()
	}
}

// pull leases up to limit messages for ackDeadline: first those to be
// delivered again, then new ones. With none available it returns a channel
// closed when some may be.
// With track set, the leases granted are appended to it.
func (sub *subscription) pull(limit int, now time.Time, ackDeadline time.Duration, track *[]lease) ([]*pubsubpb.ReceivedMessage, <-chan struct{}, error) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.deleted {
		return nil, nil, status.Errorf(codes.NotFound, "subscription %q was deleted", sub.name)
	}
	sub.expire(now)
	if ackDeadline <= 0 {
		ackDeadline = time.Duration(sub.proto.AckDeadlineSeconds) * time.Second
	}
	deadline := now.Add(ackDeadline)
	var out []*pubsubpb.ReceivedMessage
	for len(out) < limit {
		e := sub.again.pop()
		if e == nil {
			if e = sub.fresh.pop(); e == nil {
				break
			}
			sub.delivered[e.seq] = e
		} else if e.acked || !e.deadline.IsZero() {
			continue // acknowledged (or leased) since it was handed back
		}
		if out == nil {
			out = make([]*pubsubpb.ReceivedMessage, 0, min(limit, sub.again.n+sub.fresh.n+1))
		}
		e.delivery++
		e.deadline = deadline
		l := lease{deadline: deadline, e: e, delivery: e.delivery}
		heap.Push(&sub.leases, l)
		if track != nil {
			*track = append(*track, l)
		}
		out = append(out, &pubsubpb.ReceivedMessage{AckId: ackID(e.seq, e.delivery), Message: e.msg})
	}
	sub.peak = max(sub.peak, len(sub.delivered))
	sub.counts.Deliveries += uint64(len(out))
	if len(out) == 0 {
		return nil, sub.waitChan(), nil
	}
	return out, nil, nil
}

// waitChan returns a channel closed when messages become available or are
// acknowledged. sub.mu is held.
func (sub *subscription) waitChan() <-chan struct{} {
	if sub.wake == nil {
		sub.wake = make(chan struct{})
	}
	return sub.wake
}

// live keeps the leases that still hold their message and returns a
// channel closed when that may change.
func (sub *subscription) live(ls []lease, now time.Time) ([]lease, <-chan struct{}) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	sub.expire(now)
	return slices.DeleteFunc(ls, func(l lease) bool { return !l.current() }), sub.waitChan()
}

// ackID names one delivery of one message: "<seq>-<delivery>".
func ackID(seq uint64, delivery uint32) string {
	b := make([]byte, 0, 24)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, '-')
	b = strconv.AppendUint(b, uint64(delivery), 10)
	return string(b)
}

func parseAckID(id string) (seq uint64, delivery uint32, err error) {
	a, b, ok := strings.Cut(id, "-")
	s, err1 := strconv.ParseUint(a, 10, 64)
	d, err2 := strconv.ParseUint(b, 10, 32)
	if !ok || err1 != nil || err2 != nil {
		return 0, 0, status.Errorf(codes.InvalidArgument, "invalid ack id %q (ack ids come from Pull or StreamingPull of this emulator)", id)
	}
	return s, uint32(d), nil
}

// ack drops acknowledged messages. An ack id of an earlier delivery still
// acknowledges the message (its receiver processed it); an unknown or
// repeated one is ignored, as Pub/Sub does.
func (sub *subscription) ack(ids []string) error {
	seqs := make([]uint64, len(ids))
	for i, id := range ids {
		seq, _, err := parseAckID(id)
		if err != nil {
			return err
		}
		seqs[i] = seq
	}
	sub.mu.Lock()
	defer sub.mu.Unlock()
	for _, seq := range seqs {
		e := sub.delivered[seq]
		if e == nil {
			continue
		}
		delete(sub.delivered, seq)
		e.acked, e.msg, e.deadline = true, nil, time.Time{}
		sub.counts.Acked++
		sub.signal() // a stream may have room again
	}
	// Go maps do not shrink: rebuild one that once held many entries.
	if len(sub.delivered) == 0 && sub.peak > 1024 {
		sub.delivered, sub.peak = map[uint64]*entry{}, 0
	}
	return nil
}

// modify sets the deadline of current deliveries: 0 hands them back for
// redelivery now; an id of an earlier delivery, or of an acknowledged
// message, is ignored.
func (sub *subscription) modify(ids []string, secs int32, now time.Time) error {
	if secs < 0 || secs > MaxAckDeadline {
		return status.Errorf(codes.InvalidArgument, "ack_deadline_seconds must be 0-%d, got %d", MaxAckDeadline, secs)
	}
	type id struct {
		seq      uint64
		delivery uint32
	}
	parsed := make([]id, len(ids))
	for i, s := range ids {
		seq, d, err := parseAckID(s)
		if err != nil {
			return err
		}
		parsed[i] = id{seq, d}
	}
	sub.mu.Lock()
	defer sub.mu.Unlock()
	for _, p := range parsed {
		e := sub.delivered[p.seq]
		if e == nil || e.delivery != p.delivery || e.deadline.IsZero() {
			continue
		}
		if secs == 0 {
			e.deadline = time.Time{}
			sub.again.push(e)
			sub.counts.Nacked++
			sub.signal()
			continue
		}
		e.deadline = now.Add(time.Duration(secs) * time.Second)
		heap.Push(&sub.leases, lease{deadline: e.deadline, e: e, delivery: e.delivery})
	}
	return nil
}

// Pull leases up to max_messages messages. Without return_immediately it
// waits up to PullWait for one.
func (s *Server) Pull(ctx context.Context, req *pubsubpb.PullRequest) (*pubsubpb.PullResponse, error) {
	if req.GetMaxMessages() <= 0 {
		return nil, status.Error(codes.InvalidArgument, "max_messages must be positive")
	}
	sub, err := s.sub(req.GetSubscription())
	if err != nil {
		return nil, err
	}
	var timer <-chan time.Time
	for {
		msgs, wake, err := sub.pull(int(req.GetMaxMessages()), s.now(), 0, nil)
		//lint:ignore SA1019 the emulator honours the deprecated field, which footfall's reader uses.
		if err != nil || len(msgs) > 0 || req.GetReturnImmediately() {
			return &pubsubpb.PullResponse{ReceivedMessages: msgs}, err
		}
		if timer == nil {
			timer = time.After(s.pullWait)
		}
		select {
		case <-wake:
		case <-timer:
			return &pubsubpb.PullResponse{}, nil
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	}
}

// Acknowledge drops acknowledged messages.
func (s *Server) Acknowledge(_ context.Context, req *pubsubpb.AcknowledgeRequest) (*emptypb.Empty, error) {
	sub, err := s.sub(req.GetSubscription())
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, sub.ack(req.GetAckIds())
}

// ModifyAckDeadline extends leases, or hands them back with 0.
func (s *Server) ModifyAckDeadline(_ context.Context, req *pubsubpb.ModifyAckDeadlineRequest) (*emptypb.Empty, error) {
	sub, err := s.sub(req.GetSubscription())
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, sub.modify(req.GetAckIds(), req.GetAckDeadlineSeconds(), s.now())
}

// --- stats -------------------------------------------------------------------

// Stats is a subscription's backlog and counts at one instant.
type Stats struct {
	Subscription string
	Topic        string
	// Backlog is the messages not acknowledged yet: waiting to be
	// delivered (again), or delivered with a lease running (Outstanding).
	Backlog, Outstanding int
	// OldestUnacked is the publish time of the oldest unacknowledged
	// message (zero when the backlog is empty).
	OldestUnacked time.Time
	Counts
}

// OldestUnackedAge is how long the oldest unacknowledged message has
// waited at now (0 when none).
func (st Stats) OldestUnackedAge(now time.Time) time.Duration {
	if st.OldestUnacked.IsZero() {
		return 0
	}
	return max(0, now.Sub(st.OldestUnacked))
}

// Stats returns every subscription's stats, by name. It walks the
// delivered, unacknowledged messages of each (bounded by the subscribers'
// pull rate times the ack deadline), not the whole backlog.
func (s *Server) Stats() []Stats {
	s.mu.RLock()
	subs := make([]*subscription, 0, len(s.subs))
	for _, sub := range s.subs {
		subs = append(subs, sub)
	}
	s.mu.RUnlock()
	now := s.now()
	out := make([]Stats, 0, len(subs))
	for _, sub := range subs {
		out = append(out, sub.stats(now))
	}
	slices.SortFunc(out, func(a, b Stats) int { return cmp.Compare(a.Subscription, b.Subscription) })
	return out
}

// SubscriptionStats returns one subscription's stats.
func (s *Server) SubscriptionStats(name string) (Stats, error) {
	sub, err := s.sub(name)
	if err != nil {
		return Stats{}, err
	}
	return sub.stats(s.now()), nil
}

// Retained is the messages held for all subscriptions (a message held for
// two subscriptions counts twice; its data is stored once).
func (s *Server) Retained() int {
	n := 0
	for _, st := range s.Stats() {
		n += st.Backlog
	}
	return n
}

func (sub *subscription) stats(now time.Time) Stats {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	sub.expire(now)
	st := Stats{Subscription: sub.name, Topic: sub.proto.Topic, Backlog: sub.fresh.n + len(sub.delivered), Counts: sub.counts}
	oldest := int64(0)
	if e := sub.fresh.peek(); e != nil {
		oldest = e.published
	}
	for _, e := range sub.delivered {
		if !e.deadline.IsZero() {
			st.Outstanding++
		}
		if oldest == 0 || e.published < oldest {
			oldest = e.published
		}
	}
	if oldest != 0 {
		st.OldestUnacked = time.Unix(0, oldest)
	}
	return st
}
