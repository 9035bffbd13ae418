// Package web runs Admit's HTTP server: lifecycle, middleware, health,
// metrics, the OpenAPI document and RFC 9457 problems. The JSON API lives in
// web/api and registers its operations on Server.API.
package web

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/admit-events/admit"
	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func init() { huma.NewError = humaError }

// Pinger reports whether a dependency answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Config is what the server needs from the outside.
type Config struct {
	Logger      *slog.Logger
	Accounts    admit.AccountService
	Database    Pinger
	Idempotency IdempotencyStore // where Idempotency-Key requests are kept (nil: the header is ignored)
	LogRequests bool
	Version     string
	// WriteTimeout bounds the writing of a response (0: 60 s); a long
	// download renews it as it goes (http.ResponseController).
	WriteTimeout time.Duration
}

// Server is the HTTP server of one admit process.
type Server struct {
	log         *slog.Logger
	accounts    admit.AccountService
	db          Pinger
	logRequests bool
	router      *Router
	api         huma.API
	metrics     *metrics
	ready       atomic.Bool
	http        *http.Server

	openapiOnce sync.Once
	openapi     []byte
}

// NewServer returns a server with health, readiness, metrics and the
// OpenAPI document registered; API operations are added through API().
func NewServer(cfg Config) *Server {
	s := &Server{log: cfg.Logger, accounts: cfg.Accounts, db: cfg.Database, logRequests: cfg.LogRequests,
		router: NewRouter(), metrics: newMetrics()}
	if cfg.Idempotency != nil {
		s.router.UseIdempotencyStore(cfg.Idempotency)
	}
	hc := huma.DefaultConfig("Admit", cfg.Version)
	hc.OpenAPIPath, hc.DocsPath, hc.SchemasPath = "", "", ""
	hc.Info.Description = "Event registration and ticketing. Errors are RFC 9457 problem documents; lists page with opaque cursors."
	hc.Servers = []*huma.Server{{URL: "/", Description: "this server"}}
	hc.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", Description: "A token from POST /api/v1/auth/token"},
	}
	hc.CreateHooks = nil // no $schema links in responses
	hc.Formats = map[string]huma.Format{"application/json": jsonFormat, "json": jsonFormat}
	s.api = humago.New(s.router, hc)
	s.router.idem.bodyless = s.takesNoBody
	s.api.UseMiddleware(s.requireToken)
	s.registerOps()
	s.http = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      cmp.Or(cfg.WriteTimeout, 60*time.Second),
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	return s
}

// takesNoBody reports whether the operation registered at pattern declares
// no request body.
func (s *Server) takesNoBody(pattern string) bool {
	op := Operation(s.api.OpenAPI(), pattern)
	return op != nil && op.RequestBody == nil
}

// Operation returns the operation of doc at a method-and-path pattern
// ("POST /api/v1/orders/{id}/cancel"), or nil.
func Operation(doc *huma.OpenAPI, pattern string) *huma.Operation {
	method, path, _ := strings.Cut(pattern, " ")
	item := doc.Paths[path]
	if item == nil {
		return nil
	}
	switch method {
	case http.MethodGet:
		return item.Get
	case http.MethodPost:
		return item.Post
	case http.MethodPut:
		return item.Put
	case http.MethodPatch:
		return item.Patch
	case http.MethodDelete:
		return item.Delete
	}
	return nil
}

// API is where web/api registers operations.
func (s *Server) API() huma.API { return s.api }

// RegisterMetrics adds collectors to /metrics.
func (s *Server) RegisterMetrics(cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := s.metrics.registry.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Router exposes the routes, for the test that checks the OpenAPI document.
func (s *Server) Router() *Router { return s.router }

// Handler is the whole middleware chain.
func (s *Server) Handler() http.Handler { return s.observe(readableBody(s.authenticate(s.router))) }

// SetReady marks start-up complete: /readyz answers 200 from now on.
func (s *Server) SetReady() { s.ready.Store(true) }

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	if err := s.http.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Shutdown stops accepting and waits for in-flight requests.
func (s *Server) Shutdown(ctx context.Context) error {
	s.ready.Store(false)
	return s.http.Shutdown(ctx)
}

// requireToken answers 401 to anonymous calls of operations that need a
// token before their input is even parsed, so that an anonymous write is
// told to authenticate rather than how to fix its body. What the caller may
// do is still decided by the services.
func (s *Server) requireToken(ctx huma.Context, next func(huma.Context)) {
	if len(ctx.Operation().Security) > 0 && admit.UserFromContext(ctx.Context()) == nil {
		ctx.SetHeader("WWW-Authenticate", `Bearer realm="admit"`)
		huma.WriteErr(s.api, ctx, 401, "authentication required: send Authorization: Bearer <token> (POST /api/v1/auth/token)")
		return
	}
	next(ctx)
}

type statusBody struct {
	Body struct {
		Status string `json:"status" example:"ok"`
	}
}

func (s *Server) registerOps() {
	public := []map[string][]string{}
	huma.Register(s.api, huma.Operation{
		OperationID: "healthz", Method: http.MethodGet, Path: "/healthz", Tags: []string{"Operations"},
		Summary: "Liveness", Description: "200 while the process runs.", Security: public, Errors: []int{405},
	}, func(ctx context.Context, _ *struct{}) (*statusBody, error) {
		out := &statusBody{}
		out.Body.Status = "ok"
		return out, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "readyz", Method: http.MethodGet, Path: "/readyz", Tags: []string{"Operations"},
		Summary: "Readiness", Description: "200 once start-up (migrations, demo data) is complete and the database answers; 503 otherwise.",
		Security: public, Errors: []int{405, 503},
	}, func(ctx context.Context, _ *struct{}) (*statusBody, error) {
		if !s.ready.Load() {
			return nil, NewProblem(503, "starting up")
		}
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if err := s.db.Ping(ctx); err != nil {
			s.log.WarnContext(ctx, "readyz: database unreachable", "err", err)
			return nil, NewProblem(503, "the database is unreachable")
		}
		out := &statusBody{}
		out.Body.Status = "ready"
		return out, nil
	})
	metrics := promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{})
	s.rawOperation("metrics", "/metrics", "Prometheus metrics", "text/plain", metrics.ServeHTTP)
	s.rawOperation("openapi", "/api/openapi.json", "This OpenAPI 3.1 document", "application/json", s.serveOpenAPI)
}

// rawOperation registers a plain handler and describes it in the OpenAPI document.
func (s *Server) rawOperation(id, path, summary, contentType string, h http.HandlerFunc) {
	s.router.HandleFunc("GET "+path, h)
	s.api.OpenAPI().AddOperation(&huma.Operation{
		OperationID: id, Method: http.MethodGet, Path: path, Summary: summary, Tags: []string{"Operations"},
		Security: []map[string][]string{},
		Responses: map[string]*huma.Response{
			"200": {Description: "OK", Content: map[string]*huma.MediaType{contentType: {Schema: &huma.Schema{Type: "string"}}}},
			"404": problemResponse("Not Found"),
		},
	})
}

func problemResponse(desc string) *huma.Response {
	return &huma.Response{Description: desc, Content: map[string]*huma.MediaType{
		"application/problem+json": {Schema: &huma.Schema{Ref: "#/components/schemas/Problem"}},
	}}
}

// serveOpenAPI serves the document, built once after every route is registered.
func (s *Server) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	s.openapiOnce.Do(func() {
		doc, err := json.Marshal(s.api.OpenAPI())
		if err != nil {
			s.log.Error("openapi", "err", err)
		}
		s.openapi = doc
	})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=60")
	w.Write(s.openapi)
}
