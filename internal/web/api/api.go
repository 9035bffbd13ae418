// Package api is Admit's JSON API under /api/v1: handlers that parse,
// validate, call a service and respond. Authorization lives in the services.
package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/cache"
	"github.com/admit-events/admit/internal/web"
	"github.com/danielgtaylor/huma/v2"
)

// Deps are the services the API calls.
type Deps struct {
	Accounts admit.AccountService
	Geo      admit.GeoService
	Events   admit.EventService
	Orders   admit.OrderService
	Webhooks Webhooks
	Cache    *cache.Cache
	Logger   *slog.Logger
}

// handler carries the dependencies of every operation.
type handler struct {
	Deps
	api huma.API
}

// Register adds every /api/v1 operation to api.
func Register(api huma.API, d Deps) {
	h := &handler{Deps: d, api: api}
	api.OpenAPI().Components.Schemas.Map()["Problem"] = api.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[web.Problem](), false, "")
	h.registerAccounts()
	h.registerGeo()
	h.registerEvents()
	h.registerOrders()
	h.registerWebhooks()
	documentReplays(api.OpenAPI())
	documentTypedQuery(api.OpenAPI())
}

// documentTypedQuery gives the query parameters the handlers parse from
// strings themselves (so that a bad value is a 400 naming it) the type they
// accept in the OpenAPI document. The validation huma runs keeps its own
// (string) schema: only the document's pointer is replaced.
func documentTypedQuery(doc *huma.OpenAPI) {
	price := &huma.Schema{Type: "integer", Minimum: ptr(0.0), Maximum: ptr(float64(admit.MaxAmount))}
	typed := map[string]*huma.Schema{
		"limit":     {Type: "integer", Minimum: ptr(1.0), Maximum: ptr(float64(admit.MaxPageLimit)), Default: admit.DefaultPageLimit},
		"min_price": price,
		"max_price": price,
		"free":      {Type: "boolean", Default: false},
	}
	for _, item := range doc.Paths {
		if item.Get == nil {
			continue
		}
		for _, p := range item.Get.Parameters {
			if s, ok := typed[p.Name]; ok && p.In == "query" {
				p.Schema = s
			}
		}
	}
}

func ptr[T any](v T) *T { return &v }

// documentReplays adds the Idempotent-Replayed header to every answer of
// the operations that take an Idempotency-Key: the web layer sets it on a
// replayed answer.
func documentReplays(doc *huma.OpenAPI) {
	for _, pattern := range IdempotentPatterns {
		op := web.Operation(doc, pattern)
		if op == nil {
			continue
		}
		for _, r := range op.Responses {
			if r.Headers == nil {
				r.Headers = map[string]*huma.Param{}
			}
			r.Headers[web.IdempotentReplayedHeader] = &huma.Param{Description: "true when this is the stored answer to an earlier request with the same Idempotency-Key",
				Schema: &huma.Schema{Type: "string", Enum: []any{"true"}}}
		}
	}
}

// Security requirements of operations.
var (
	public = []map[string][]string{}
	bearer = []map[string][]string{{"bearer": {}}}
)

// op describes an operation with the errors every operation may answer.
func op(id, method, path, summary, tag string, security []map[string][]string, status int, errs ...int) huma.Operation {
	errs = append(errs, 400, 500)
	if len(security) > 0 {
		errs = append(errs, 401)
	}
	if method != http.MethodGet && method != http.MethodDelete {
		errs = append(errs, 413, 415, 422)
	}
	return huma.Operation{OperationID: id, Method: method, Path: "/api/v1" + path, Summary: summary,
		Tags: []string{tag}, Security: security, DefaultStatus: status, Errors: dedupe(errs)}
}

func dedupe(xs []int) []int {
	seen := map[int]bool{}
	out := xs[:0]
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// fail turns a service error into a problem, logging internal ones once:
// their details never reach the client.
func (h *handler) fail(ctx context.Context, err error) error {
	return web.ProblemFor(ctx, h.Logger, "request failed", err)
}

// changed is called after every successful catalogue write.
func (h *handler) changed() { h.Cache.Clear() }

// Output types.
type (
	itemOutput[T any] struct {
		Body T
	}
	// createdOutput is a 201: the new resource, and where to GET it.
	createdOutput[T any] struct {
		Location string `header:"Location" doc:"The new resource's path"`
		Body     T
	}
	listBody[T any] struct {
		Items      []T    `json:"items"`
		NextCursor string `json:"next_cursor" doc:"Pass as cursor= for the next page; empty on the last page"`
	}
	noContent struct{}
)

// cachedOutput is a public catalogue read: a rendered body with validators.
type cachedOutput struct {
	Status       int
	ContentType  string `header:"Content-Type"`
	ETag         string `header:"ETag"`
	CacheControl string `header:"Cache-Control"`
	Body         []byte
}

// cachedResponse documents, for the OpenAPI document, the JSON schema of a
// rendered body and the 304 answer to If-None-Match.
func (h *handler) cachedResponse(o *huma.Operation, bodyType reflect.Type) {
	schema := h.api.OpenAPI().Components.Schemas.Schema(bodyType, true, "")
	headers := map[string]*huma.Param{
		"ETag":          {Schema: &huma.Schema{Type: "string"}},
		"Cache-Control": {Schema: &huma.Schema{Type: "string"}},
	}
	o.Responses = map[string]*huma.Response{
		"200": {Description: "OK", Headers: headers, Content: map[string]*huma.MediaType{"application/json": {Schema: schema}}},
		"304": {Description: "Not Modified: the If-None-Match tag still holds", Headers: headers},
	}
}

// CachedPatterns are the public lists the router serves from its cache
// (to anonymous callers) for Cache.TTL after rendering them.
var CachedPatterns = []string{"GET /api/v1/events", "GET /api/v1/cities", "GET /api/v1/locations", "GET /api/v1/countries"}

// cachedList renders a public list that clients, CDNs and the router's
// cache may keep for the cache TTL.
func (h *handler) cachedList(ctx context.Context, ifNoneMatch string, load func() (any, error)) (*cachedOutput, error) {
	v, err := load()
	cc := "public, no-cache"
	if ttl := int(h.Cache.TTL().Seconds()); ttl > 0 {
		cc = "public, max-age=" + strconv.Itoa(ttl)
	}
	return h.render(ctx, ifNoneMatch, v, err, cc)
}

// uncached serves a public read that must be exact (or, private, one only
// its caller may see): clients and CDNs may keep it but must revalidate
// every time.
func (h *handler) uncached(ctx context.Context, ifNoneMatch string, v any, err error, private bool) (*cachedOutput, error) {
	cc := "public, no-cache"
	if private {
		cc = "private, no-store"
	}
	return h.render(ctx, ifNoneMatch, v, err, cc)
}

// render answers v as JSON with its ETag, or 304 when the client's tag
// matches; err (from loading v) is answered instead.
func (h *handler) render(ctx context.Context, ifNoneMatch string, v any, err error, cacheControl string) (*cachedOutput, error) {
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	body, err := json.Marshal(v)
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	etag := cache.ETag(body)
	out := &cachedOutput{Status: 200, ContentType: "application/json", ETag: etag, CacheControl: cacheControl, Body: body}
	if web.ETagMatches(ifNoneMatch, etag) {
		out.Status, out.Body, out.ContentType = http.StatusNotModified, nil, ""
	}
	return out, nil
}
