package pubsubemu

import (
	"io"
	"time"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// StreamingPull delivers messages on a stream (what the official client's
// Subscriber.Receive uses), leased for the stream's ack deadline and at
// most max_outstanding_messages unacknowledged at a time, and applies the
// acknowledgements and deadline changes the client sends on it.
func (s *Server) StreamingPull(stream pubsubpb.Subscriber_StreamingPullServer) error {
	req, err := stream.Recv()
	if err != nil {
		return err
	}
	sub, err := s.sub(req.GetSubscription())
	if err != nil {
		return err
	}
	ad := req.GetStreamAckDeadlineSeconds()
	if ad < DefaultAckDeadline || ad > MaxAckDeadline {
		return status.Errorf(codes.InvalidArgument, "stream_ack_deadline_seconds must be %d-%d, got %d", DefaultAckDeadline, MaxAckDeadline, ad)
	}
	deadline := time.Duration(ad) * time.Second
	maxOut := int(req.GetMaxOutstandingMessages()) // 0: no limit
	// leases granted on this stream that still hold their message: the
	// client acknowledges with Acknowledge calls or on the stream.
	var leased []lease
	apply := func(r *pubsubpb.StreamingPullRequest) error {
		if err := sub.ack(r.GetAckIds()); err != nil {
			return err
		}
		ids, secs := r.GetModifyDeadlineAckIds(), r.GetModifyDeadlineSeconds()
		if len(ids) != len(secs) {
			return status.Errorf(codes.InvalidArgument, "%d modify_deadline_ack_ids but %d modify_deadline_seconds", len(ids), len(secs))
		}
		for i := range ids {
			if err := sub.modify(ids[i:i+1], secs[i], s.now()); err != nil {
				return err
			}
		}
		return nil
	}
	if err := apply(req); err != nil {
		return err
	}

	ctx := stream.Context()
	errc := make(chan error, 1)
	kick := make(chan struct{}, 1)
	go func() {
		for {
			r, err := stream.Recv()
			if err == nil {
				err = apply(r)
			}
			if err != nil {
				errc <- err
				return
			}
			select {
			case kick <- struct{}{}:
			default:
			}
		}
	}()
	tick := time.NewTicker(s.pullWait) // leases may run out without a signal
	defer tick.Stop()
	for {
		var wake <-chan struct{}
		var track *[]lease
		n := 1000
		if maxOut > 0 {
			track = &leased
			leased, wake = sub.live(leased, s.now())
			n = min(n, maxOut-len(leased))
		}
		if n > 0 {
			msgs, w, err := sub.pull(n, s.now(), deadline, track)
			if err != nil {
				return err
			}
			if len(msgs) > 0 {
				if err := stream.Send(&pubsubpb.StreamingPullResponse{ReceivedMessages: msgs}); err != nil {
					return err
				}
				continue
			}
			wake = w
		}
		select {
		case <-wake:
		case <-kick:
		case <-tick.C:
		case err := <-errc:
			if err == io.EOF {
				return nil
			}
			return err
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	}
}
