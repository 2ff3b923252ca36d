package ingest

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/klauspost/compress/gzip"
	"github.com/oklog/ulid/v2"
	"github.com/phuslu/iploc"
)

const (
	headerRequestID = "X-Request-Id"
	localRequestID  = "request_id"
	maxRequestIDLen = 128
)

// requestID honours a client's X-Request-Id when it is short and plain,
// else makes one; it is echoed in the response and rides in every log line.
func (s *Server) requestID(c *fiber.Ctx) error {
	id := c.Get(headerRequestID)
	if !validRequestID(id) {
		id = ulid.Make().String()
	}
	c.Locals(localRequestID, id)
	c.Set(headerRequestID, id)
	return c.Next()
}

func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		ch := id[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_' || ch == '.' || ch == ':') {
			return false
		}
	}
	return true
}

// logger returns the service logger with the request's id.
func (s *Server) logger(c *fiber.Ctx) *slog.Logger {
	id, _ := c.Locals(localRequestID).(string)
	return s.log.With("request_id", id)
}

// observe counts requests by route and status. Routes are the fixed set
// registered in Routes, so the label stays bounded.
func (s *Server) observe(c *fiber.Ctx) error {
	err := c.Next()
	if err != nil {
		// Let the error handler write the answer before it is counted.
		if herr := c.App().ErrorHandler(c, err); herr != nil {
			return herr
		}
	}
	route := c.Route().Path
	if c.Response().StatusCode() == fiber.StatusNotFound && route == "/" {
		route = "unknown"
	}
	s.stats.requests.WithLabelValues(route, strconv.Itoa(c.Response().StatusCode())).Inc()
	return nil
}

// clientIP is the address of the end user: the peer, unless the peer is a
// trusted proxy, in which case the proxy header is read from the right,
// skipping trusted proxies, and the first untrusted address wins (the
// left-most entries are whatever the client chose to send).
func (s *Server) clientIP(c *fiber.Ctx) netip.Addr {
	peer, _ := netip.AddrFromSlice(c.Context().RemoteIP())
	peer = peer.Unmap()
	if len(s.proxies) == 0 || !s.trusted(peer) {
		return peer
	}
	h := c.Get(s.cfg.ProxyHeader)
	addr := peer
	for h != "" {
		var part string
		if i := strings.LastIndexByte(h, ','); i >= 0 {
			part, h = h[i+1:], h[:i]
		} else {
			part, h = h, ""
		}
		a, err := netip.ParseAddr(strings.TrimSpace(part))
		if err != nil {
			break
		}
		addr = a.Unmap()
		if !s.trusted(addr) {
			return addr
		}
	}
	return addr
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// countryOf returns the ISO 3166-1 alpha-2 country of ip, or "" when unknown.
func countryOf(ip netip.Addr) string {
	if !ip.IsValid() {
		return ""
	}
	cc := iploc.IPCountry(ip.Unmap())
	if cc == "" || cc == "ZZ" {
		return ""
	}
	return cc
}

// countryOfString parses ip first (a client-sent context.ip or ip_override).
func countryOfString(ip string) string {
	a, err := netip.ParseAddr(strings.TrimSpace(ip))
	if err != nil {
		return ""
	}
	return countryOf(a)
}

// body is a request body, decompressed if needed; release returns its
// buffer to the pool once nothing refers to it any more.
type body struct {
	b   []byte
	buf *bytes.Buffer
}

func (b *body) release() {
	if b.buf != nil && b.buf.Cap() <= 2*MaxBatchBytes {
		bodyPool.Put(b.buf)
	}
	b.buf = nil
}

var (
	bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}
	gzipPool sync.Pool // *gzip.Reader
)

// readBody returns the request body, gunzipped when Content-Encoding says
// gzip. Decompression streams into a buffer with a hard cap of limit bytes:
// a small body that inflates past the limit (a decompression bomb) is
// refused after reading limit+1 bytes, never inflated further.
func (s *Server) readBody(c *fiber.Ctx, limit int) (*body, *requestError) {
	raw := c.Request().Body() // never c.Body(): Fiber would inflate it unbounded
	enc := strings.ToLower(strings.TrimSpace(c.Get(fiber.HeaderContentEncoding)))
	tooLarge := &requestError{status: fiber.StatusRequestEntityTooLarge, reason: "too_large", code: "VALUE_OUT_OF_BOUNDS",
		msg: "request body is larger than the " + strconv.Itoa(limit) + "-byte limit (after decompression); send fewer events per request"}
	switch enc {
	case "", "identity":
		if len(raw) > limit {
			return nil, tooLarge
		}
		return &body{b: raw}, nil
	case "gzip", "x-gzip":
	default:
		return nil, &requestError{status: fiber.StatusUnsupportedMediaType, reason: "bad_encoding", code: "VALUE_INVALID",
			msg: "Content-Encoding " + strconv.Quote(enc) + " is not supported; send gzip or an uncompressed body"}
	}
	zr, _ := gzipPool.Get().(*gzip.Reader)
	var err error
	if zr == nil {
		zr, err = gzip.NewReader(bytes.NewReader(raw))
	} else {
		err = zr.Reset(bytes.NewReader(raw))
	}
	if err != nil {
		return nil, &requestError{status: fiber.StatusBadRequest, reason: "bad_encoding", code: "VALUE_INVALID",
			msg: "body is not valid gzip (Content-Encoding: gzip): " + err.Error()}
	}
	defer gzipPool.Put(zr)
	buf := bodyPool.Get().(*bytes.Buffer)
	buf.Reset()
	n, err := buf.ReadFrom(io.LimitReader(zr, int64(limit)+1))
	b := &body{b: buf.Bytes(), buf: buf}
	switch {
	case n > int64(limit):
		b.release()
		return nil, tooLarge
	case err != nil && !errors.Is(err, io.EOF):
		b.release()
		return nil, &requestError{status: fiber.StatusBadRequest, reason: "bad_encoding", code: "VALUE_INVALID",
			msg: "body is not valid gzip (Content-Encoding: gzip): " + err.Error()}
	}
	return b, nil
}

// now returns the receive time of the request.
func (s *Server) receiveTime() time.Time { return s.now().UTC() }
