package ingest

import (
	"context"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"
)

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		check   func(Config) bool
		wantErr bool
	}{
		{"defaults", nil, func(c Config) bool {
			return c.Addr == "127.0.0.1:8080" && c.Publisher == PublisherPubSub && c.MaxEventAge == 72*time.Hour &&
				c.RateLimit == 5000 && c.RateBurst == 10000 && c.ProxyHeader == "X-Forwarded-For" && len(c.TrustedProxies) == 0 &&
				c.OpsAddr == "" && c.ReadTimeout == 30*time.Second && c.WriteTimeout == 30*time.Second && c.IdleTimeout == 120*time.Second &&
				c.AuthFailuresPerMinute == 10 && c.AuthFailureBurst == 20
		}, false},
		{"ops listener", map[string]string{"INGEST_OPS_ADDR": "127.0.0.1:9090"}, func(c Config) bool { return c.OpsAddr == "127.0.0.1:9090" }, false},
		{"ops listener on the public address", map[string]string{"INGEST_OPS_ADDR": "127.0.0.1:8080"}, nil, true},
		{"ops listener on Cloud Run's port", map[string]string{"PORT": "9000", "INGEST_OPS_ADDR": ":9000"}, nil, true},
		{"zero read timeout", map[string]string{"READ_TIMEOUT": "0s"}, nil, true},
		{"no auth failures allowed", map[string]string{"AUTH_FAILURE_BURST": "0"}, nil, true},
		{"cloud run port", map[string]string{"PORT": "9000"}, func(c Config) bool { return c.Addr == ":9000" }, false},
		{"trusted proxies", map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8,35.191.0.1"}, func(c Config) bool { return len(c.TrustedProxies) == 2 }, false},
		{"bad proxy", map[string]string{"TRUSTED_PROXIES": "10.0.0.0/33"}, nil, true},
		{"noop publisher", map[string]string{"PUBLISHER": "noop"}, func(c Config) bool { return c.Publisher == PublisherNoop }, false},
		{"unknown publisher", map[string]string{"PUBLISHER": "kafka"}, nil, true},
		{"zero rate", map[string]string{"RATE_LIMIT_EVENTS_PER_SECOND": "0"}, nil, true},
		{"window", map[string]string{"MAX_EVENT_AGE": "24h"}, func(c Config) bool { return c.MaxEventAge == 24*time.Hour }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := LoadConfig(context.Background(), envconfig.MapLookuper(tc.env))
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error %v", err, tc.wantErr)
			}
			if err == nil && !tc.check(c) {
				t.Errorf("config %+v", c)
			}
		})
	}
}
