package pubsubemu

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Backlog is one subscription's backlog as GET /v1/backlog serves it. The
// fields messages and oldest_unacked_age_seconds are the contract with
// ingest's back-pressure (docs/ingest.md).
type Backlog struct {
	Subscription string `json:"subscription"`
	Topic        string `json:"topic"`
	// Messages not acknowledged yet; Outstanding of them leased now.
	Messages    int `json:"messages"`
	Outstanding int `json:"outstanding"`
	// OldestUnackedAgeSeconds is how long the oldest unacknowledged
	// message has waited (0 when none).
	OldestUnackedAgeSeconds float64 `json:"oldest_unacked_age_seconds"`
	Published               uint64  `json:"published"`
	Deliveries              uint64  `json:"deliveries"`
	Acked                   uint64  `json:"acked"`
	Expired                 uint64  `json:"expired"`
	Nacked                  uint64  `json:"nacked"`
}

func backlog(st Stats, now time.Time) Backlog {
	return Backlog{Subscription: st.Subscription, Topic: st.Topic, Messages: st.Backlog, Outstanding: st.Outstanding,
		OldestUnackedAgeSeconds: st.OldestUnackedAge(now).Seconds(), Published: st.Published, Deliveries: st.Deliveries,
		Acked: st.Acked, Expired: st.Expired, Nacked: st.Nacked}
}

// Handler serves the emulator's stats over HTTP:
//
//	GET /v1/backlog?subscription=projects/<p>/subscriptions/<s>  one Backlog (404 when unknown)
//	GET /v1/backlog                                             {"subscriptions": [Backlog, ...]}
//	GET /metrics                                                Prometheus
//	GET /healthz                                                "ok"
func (s *Server) Handler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector{s})
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) })
	mux.HandleFunc("GET /v1/backlog", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		now := s.now()
		if name := r.URL.Query().Get("subscription"); name != "" {
			st, err := s.SubscriptionStats(name)
			if err != nil {
				w.WriteHeader(http.StatusNotFound)
				json.NewEncoder(w).Encode(map[string]string{"error": "subscription " + name + " not found"})
				return
			}
			json.NewEncoder(w).Encode(backlog(st, now))
			return
		}
		all := []Backlog{}
		for _, st := range s.Stats() {
			all = append(all, backlog(st, now))
		}
		json.NewEncoder(w).Encode(map[string][]Backlog{"subscriptions": all})
	})
	return mux
}

// collector exports every subscription's stats when scraped.
type collector struct{ s *Server }

var (
	descBacklog     = prometheus.NewDesc("pubsub_emulator_backlog_messages", "Messages not acknowledged yet, by subscription.", []string{"subscription"}, nil)
	descOutstanding = prometheus.NewDesc("pubsub_emulator_outstanding_messages", "Delivered messages with a lease running, by subscription.", []string{"subscription"}, nil)
	descOldest      = prometheus.NewDesc("pubsub_emulator_oldest_unacked_message_age_seconds", "Age of the oldest unacknowledged message, by subscription.", []string{"subscription"}, nil)
	descPublished   = prometheus.NewDesc("pubsub_emulator_published_messages_total", "Messages a subscription received from its topic.", []string{"subscription"}, nil)
	descDeliveries  = prometheus.NewDesc("pubsub_emulator_deliveries_total", "Deliveries, redeliveries included, by subscription.", []string{"subscription"}, nil)
	descAcked       = prometheus.NewDesc("pubsub_emulator_acked_messages_total", "Messages acknowledged and dropped, by subscription.", []string{"subscription"}, nil)
	descExpired     = prometheus.NewDesc("pubsub_emulator_expired_leases_total", "Leases that ran out (the message is delivered again), by subscription.", []string{"subscription"}, nil)
	descNacked      = prometheus.NewDesc("pubsub_emulator_nacked_leases_total", "Leases handed back with ModifyAckDeadline 0, by subscription.", []string{"subscription"}, nil)
)

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descBacklog, descOutstanding, descOldest, descPublished, descDeliveries, descAcked, descExpired, descNacked} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	now := c.s.now()
	for _, st := range c.s.Stats() {
		n := st.Subscription
		ch <- prometheus.MustNewConstMetric(descBacklog, prometheus.GaugeValue, float64(st.Backlog), n)
		ch <- prometheus.MustNewConstMetric(descOutstanding, prometheus.GaugeValue, float64(st.Outstanding), n)
		ch <- prometheus.MustNewConstMetric(descOldest, prometheus.GaugeValue, st.OldestUnackedAge(now).Seconds(), n)
		ch <- prometheus.MustNewConstMetric(descPublished, prometheus.CounterValue, float64(st.Published), n)
		ch <- prometheus.MustNewConstMetric(descDeliveries, prometheus.CounterValue, float64(st.Deliveries), n)
		ch <- prometheus.MustNewConstMetric(descAcked, prometheus.CounterValue, float64(st.Acked), n)
		ch <- prometheus.MustNewConstMetric(descExpired, prometheus.CounterValue, float64(st.Expired), n)
		ch <- prometheus.MustNewConstMetric(descNacked, prometheus.CounterValue, float64(st.Nacked), n)
	}
}
