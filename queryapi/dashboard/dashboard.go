// Package dashboard is the merchant dashboard the query API serves at
// /dashboard/: one static page (HTML, CSS, plain JavaScript and the
// vendored uPlot chart library, all embedded in the binary, nothing fetched
// from elsewhere) that asks for a read key and reads everything it shows
// from the public /v1 API with it, so it is also a reference client of that
// API. The page itself needs no key; the data does.
//
// static/vendor holds uPlot's built files as published on npm; `make
// dashboard-assets` refreshes them from package-lock.json.
package dashboard

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/gofiber/fiber/v2"
)

//go:embed static
var static embed.FS

// Path is where the dashboard is served.
const Path = "/dashboard/"

// securityHeaders keep the page to its own origin: scripts, styles and
// API calls from the query API only, no framing. uPlot sets inline styles
// through the CSSOM, which style-src does not restrict.
var securityHeaders = map[string]string{
	fiber.HeaderContentSecurityPolicy: "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
	fiber.HeaderXContentTypeOptions: "nosniff",
	fiber.HeaderReferrerPolicy:      "no-referrer",
}

// asset is one embedded file, ready to send.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// Register attaches the dashboard to app: GET / redirects to /dashboard/,
// which serves the page; its other files are below it. The routes are
// outside /v1: they take no key and are not rate-limited. GET / and GET
// /dashboard/ are routes (documented in openapi.json); the files are
// served by a prefix handler, which keeps them out of the route list.
func Register(app *fiber.App) {
	assets, err := load(static)
	if err != nil {
		panic(err) // the embedded files are part of the binary: cannot happen
	}
	redirect := func(c *fiber.Ctx) error { return c.Redirect(Path, fiber.StatusFound) }
	serve := func(c *fiber.Ctx) error {
		// Without strict routing "/dashboard" reaches here too; the
		// page's relative links need the slash.
		name, ok := strings.CutPrefix(c.Path(), Path)
		if !ok {
			return redirect(c)
		}
		if name == "" {
			name = "index.html"
		}
		a, ok := assets[name]
		if !ok {
			return fiber.NewError(fiber.StatusNotFound, "no such dashboard file; the dashboard is at "+Path)
		}
		for k, v := range securityHeaders {
			c.Set(k, v)
		}
		// Revalidate every time: a new binary serves new files at once,
		// and an unchanged file costs a 304.
		c.Set(fiber.HeaderCacheControl, "no-cache")
		c.Set(fiber.HeaderETag, a.etag)
		if inm := c.Get(fiber.HeaderIfNoneMatch); inm != "" && etagListed(inm, a.etag) {
			return c.SendStatus(fiber.StatusNotModified)
		}
		c.Set(fiber.HeaderContentType, a.contentType)
		return c.Send(a.body)
	}
	app.Get("/", redirect)
	app.Get(Path, serve)
	app.Use(Path, func(c *fiber.Ctx) error {
		// Fiber matches the prefix "/dashboard" here, "/dashboardx" too.
		if (c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead) || !strings.HasPrefix(c.Path(), Path) {
			return c.Next()
		}
		return serve(c)
	})
}

// load reads every embedded file once. The files are few and small;
// hashing them here gives strong ETags, which embedded files (they have
// no modification time) cannot get from a file-server middleware.
func load(fsys fs.FS) (map[string]asset, error) {
	root, err := fs.Sub(fsys, "static")
	if err != nil {
		return nil, fmt.Errorf("dashboard.load: %w", err)
	}
	out := map[string]asset{}
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			ct = "text/plain; charset=utf-8"
		}
		sum := sha256.Sum256(b)
		out[p] = asset{body: b, contentType: ct, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dashboard.load: %w", err)
	}
	return out, nil
}

// contentTypes are the types of the files served (the system's MIME table
// differs between machines).
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
}

func etagListed(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}
