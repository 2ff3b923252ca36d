package queryapi

import (
	_ "embed"

	"github.com/gofiber/fiber/v2"
)

// OpenAPI is the service's OpenAPI 3 document, served at /openapi.json.
// Tests check it against the routes, the parameters the handlers read and
// real responses.
//
//go:embed openapi.json
var OpenAPI []byte

func (s *Server) handleOpenAPI() fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		c.Set(fiber.HeaderCacheControl, "public, max-age=300")
		return c.Send(OpenAPI)
	}
}
