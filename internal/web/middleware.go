package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/admit-events/admit"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// requestInfo travels in the context so that the outer middleware learns
// what the inner layers found (the route pattern).
type requestInfo struct {
	id       string
	clientIP string
	pattern  string
}

type infoKey struct{}

func infoFrom(ctx context.Context) *requestInfo {
	info, _ := ctx.Value(infoKey{}).(*requestInfo)
	return info
}

// RequestID returns the id of the request being served ("" outside one).
func RequestID(ctx context.Context) string {
	if info := infoFrom(ctx); info != nil {
		return info.id
	}
	return ""
}

// ClientAddr returns the address of the client of the request being served.
func ClientAddr(ctx context.Context) string {
	if info := infoFrom(ctx); info != nil {
		return info.clientIP
	}
	return ""
}

// statusWriter remembers the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(s int) {
	if w.status == 0 {
		w.status = s
	}
	w.ResponseWriter.WriteHeader(s)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe assigns a request id, recovers panics, logs one line per request
// and records metrics by route pattern.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &requestInfo{id: requestID(r), clientIP: ClientIP(r)}
		w.Header().Set("X-Request-Id", info.id)
		sw := &statusWriter{ResponseWriter: w}
		ctx := context.WithValue(r.Context(), infoKey{}, info)
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(ctx, "panic", "request_id", info.id, "panic", v)
				if sw.status == 0 {
					WriteProblem(sw, NewProblem(500, "internal error"))
				}
			}
			route := info.pattern
			if route == "" {
				route = "unmatched"
			}
			elapsed := time.Since(start)
			status := strconv.Itoa(sw.status)
			s.metrics.requests.WithLabelValues(r.Method, route, status).Inc()
			s.metrics.latency.WithLabelValues(r.Method, route).Observe(elapsed.Seconds())
			if s.logRequests {
				s.log.LogAttrs(ctx, slog.LevelInfo, "request", slog.String("request_id", info.id),
					slog.String("method", r.Method), slog.String("route", route), slog.String("path", r.URL.Path),
					slog.Int("status", sw.status), slog.Int("bytes", sw.bytes),
					slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000))
			}
		}()
		next.ServeHTTP(sw, r.WithContext(ctx))
	})
}

// requestID reuses a sane incoming X-Request-Id (set by a proxy) or makes one.
func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= 64 && !strings.ContainsFunc(id, func(c rune) bool {
		return c < '!' || c > '~'
	}) {
		return id
	}
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// authenticate puts the caller named by a bearer token into the context.
// A request without a token is anonymous; a bad token is refused at once.
// An answer to a caller is theirs alone: no cache keeps it unless its
// handler says otherwise (a public catalogue read).
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h == "" {
			next.ServeHTTP(w, r)
			return
		}
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="admit"`)
			WriteProblem(w, NewProblem(401, "the Authorization header must be: Bearer <token>"))
			return
		}
		u, err := s.accounts.Authenticate(r.Context(), strings.TrimSpace(token))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="admit", error="invalid_token"`)
			WriteProblem(w, ProblemFor(r.Context(), s.log, "authenticate", err))
			return
		}
		w.Header().Set("Cache-Control", "private, no-store")
		next.ServeHTTP(w, r.WithContext(admit.NewContextWithUser(r.Context(), u)))
	})
}

// readableBody refuses request bodies the API cannot read for what they
// are, before any handler parses them: a content coding (gzip…) or a JSON
// body declared in a charset other than UTF-8, the only one JSON has. A
// Content-Type is otherwise passed on in canonical form, since media types
// are case-insensitive (APPLICATION/JSON is application/json).
func readableBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength == 0 { // no body (-1: one of unknown length)
			next.ServeHTTP(w, r)
			return
		}
		if ce := r.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
			WriteProblem(w, NewProblem(415, "send the request body without a Content-Encoding"))
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "" {
			mt, params, err := mime.ParseMediaType(ct)
			if err != nil {
				WriteProblem(w, NewProblem(415, "the Content-Type header is not a media type; send application/json"))
				return
			}
			if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "us-ascii") { // ASCII is UTF-8
				WriteProblem(w, NewProblem(415, "send the request body in UTF-8, the only charset of JSON"))
				return
			}
			r.Header.Set("Content-Type", mime.FormatMediaType(mt, params))
		}
		next.ServeHTTP(w, r)
	})
}

// ClientIP returns the address the request came from.
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "admit_http_requests_total", Help: "HTTP requests by method, route pattern and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "admit_http_request_duration_seconds", Help: "HTTP request latency by method and route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method", "route"}),
	}
	m.registry.MustRegister(m.requests, m.latency, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
