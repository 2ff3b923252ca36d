package ingest

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/tdewolff/minify/v2"
	"github.com/tdewolff/minify/v2/js"
)

// TrackerPath is where ingest serves its first-party tracker script.
const TrackerPath = "/footfall.js"

// MaxTrackerGzipBytes is the size budget of the served tracker, gzipped.
const MaxTrackerGzipBytes = 2048

//go:embed tracker/footfall.js
var trackerSource []byte

// trackerAsset is the tracker as served: minified, gzipped, with an ETag.
// It is built once from the embedded source, so there is no generated
// file to keep current.
type trackerAsset struct {
	js, gz []byte
	etag   string
}

// buildTracker minifies the embedded tracker source (tdewolff/minify) and
// gzips it at the best level.
func buildTracker() (*trackerAsset, error) {
	m := minify.New()
	m.AddFunc("text/javascript", js.Minify)
	min, err := m.Bytes("text/javascript", trackerSource)
	if err != nil {
		return nil, fmt.Errorf("ingest: minify tracker/footfall.js: %w", err)
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if _, err := zw.Write(min); err != nil {
		return nil, fmt.Errorf("ingest: gzip tracker: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("ingest: gzip tracker: %w", err)
	}
	sum := sha256.Sum256(min)
	return &trackerAsset{js: min, gz: gz.Bytes(), etag: `"` + hex.EncodeToString(sum[:8]) + `"`}, nil
}

// handleTracker serves GET /footfall.js: public, cacheable for an hour (a
// new version reaches every page within that), gzipped when the client
// accepts it, and loadable by any page (CORS and CORP allow every origin,
// so it works with Subresource Integrity and cross-origin isolation).
func (s *Server) handleTracker() fiber.Handler {
	return func(c *fiber.Ctx) error {
		t := s.tracker
		c.Set(fiber.HeaderContentType, "text/javascript; charset=utf-8")
		c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
		c.Set(fiber.HeaderETag, t.etag)
		c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
		c.Set("Cross-Origin-Resource-Policy", "cross-origin")
		c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
		c.Vary(fiber.HeaderAcceptEncoding)
		if c.Get(fiber.HeaderIfNoneMatch) == t.etag {
			return c.SendStatus(fiber.StatusNotModified)
		}
		if strings.Contains(strings.ToLower(c.Get(fiber.HeaderAcceptEncoding)), "gzip") {
			c.Set(fiber.HeaderContentEncoding, "gzip")
			return c.Send(t.gz)
		}
		return c.Send(t.js)
	}
}
