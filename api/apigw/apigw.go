// Package apigw serves API Gateway HTTP API events (payload format 2.0) with the API's
// http.Handler, through aws-lambda-go-api-proxy, after putting back the path escaping that API
// Gateway took away.
package apigw

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
)

// Handler returns the Lambda handler for h.
func Handler(h http.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	adapter := httpadapter.NewV2(h)
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return adapter.ProxyWithContext(ctx, Escape(ev))
	}
}

// Escape returns ev with its path percent-encoded again.
//
// An HTTP API decodes the request path before the function sees it: rawPath (and
// requestContext.http.path) carry "%", "?", "#", spaces and UTF-8 as plain characters, and an
// encoded "/" (%2F) as a plain separator. Live captures: fastify/aws-lambda-fastify#169 (a%2Fb
// arrives as rawPath "/a/b"), honojs/hono#2156, middleapi/standard-server#93 ("HTTP API decodes
// rawPath"). The adapter pastes rawPath into a URL, so a literal "%" made url.Parse fail (the
// client saw a bare 5xx) and a "?" cut the path short and turned the rest into a query. Escaping
// each segment again gives the router the path a local server would see, so crafted paths meet
// the same 400/404 answers. An encoded "/" cannot be told from a separator any more: it reaches
// the router as one and is refused as an unknown route (404) instead of a bad id (400).
func Escape(ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest {
	ev.RawPath = EscapePath(ev.RawPath)
	ev.RequestContext.HTTP.Path = EscapePath(ev.RequestContext.HTTP.Path)
	return ev
}

// EscapePath percent-encodes every segment of a decoded path; "/" stays the separator.
func EscapePath(decoded string) string {
	segs := strings.Split(decoded, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}
