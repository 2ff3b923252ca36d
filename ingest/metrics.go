package ingest

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// stats are ingest's Prometheus metrics. No label carries a merchant id
// (unbounded cardinality): per-merchant detail goes to the logs.
type stats struct {
	reg              *prometheus.Registry
	requests         *prometheus.CounterVec // route, code
	eventsAccepted   *prometheus.CounterVec // protocol
	eventsRejected   *prometheus.CounterVec // protocol, reason
	requestsRejected *prometheus.CounterVec // reason
	rateLimited      prometheus.Counter
	fieldsDropped    *prometheus.CounterVec // protocol, field
	authFailures     *prometheus.CounterVec // protocol
	authLimited      *prometheus.CounterVec // protocol
	publishSeconds   prometheus.Histogram
	batchSize        prometheus.Histogram
}

func newStats() *stats {
	st := &stats{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "footfall_ingest_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		eventsAccepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "footfall_ingest_events_accepted_total", Help: "Events published and acknowledged by Pub/Sub, by protocol (segment, ga4).",
		}, []string{"protocol"}),
		eventsRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "footfall_ingest_events_rejected_total", Help: "Events not accepted, by protocol and reason (invalid, rate_limited, unavailable).",
		}, []string{"protocol", "reason"}),
		requestsRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "footfall_ingest_requests_rejected_total", Help: "Whole requests rejected before their events could be counted, by reason (malformed, unauthorized, forbidden, too_large, bad_encoding, ...).",
		}, []string{"reason"}),
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "footfall_ingest_rate_limited_requests_total", Help: "Requests answered 429 (the merchant is in the log line).",
		}),
		fieldsDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "footfall_ingest_fields_dropped_total", Help: "Fields dropped from accepted events (an amount that could not be used), by protocol and field; the answer carries a warning.",
		}, []string{"protocol", "field"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "footfall_ingest_auth_failures_total", Help: "Requests with wrong or missing credentials, by protocol (ga4).",
		}, []string{"protocol"}),
		authLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "footfall_ingest_auth_limited_requests_total", Help: "Requests answered 429 unchecked because their client address used up its authentication failures.",
		}, []string{"protocol"}),
		publishSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "footfall_ingest_publish_seconds", Help: "Time to publish a request's events and receive every acknowledgement.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "footfall_ingest_batch_events", Help: "Events per accepted request.",
			Buckets: []float64{1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500},
		}),
	}
	st.reg.MustRegister(st.requests, st.eventsAccepted, st.eventsRejected, st.requestsRejected, st.rateLimited,
		st.fieldsDropped, st.authFailures, st.authLimited,
		st.publishSeconds, st.batchSize,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return st
}
