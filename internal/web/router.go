package web

import (
	"net/http"
	"path"
	"slices"
	"sync"
)

// Router is the standard library mux, recording every pattern registered so
// that a test can check the OpenAPI document covers them all, and answering
// unknown routes and wrong methods with problem documents.
type Router struct {
	mux      *http.ServeMux
	mu       sync.Mutex
	patterns []string
	idem     idempotency // Idempotency-Key patterns and store (idempotency.go)
	public   publicCache // cached public lists (publiccache.go)
}

// NewRouter returns an empty router.
func NewRouter() *Router { return &Router{mux: http.NewServeMux()} }

// HandleFunc registers a handler for a method-and-path pattern.
func (rt *Router) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	rt.mu.Lock()
	rt.patterns = append(rt.patterns, pattern)
	rt.mu.Unlock()
	rt.mux.HandleFunc(pattern, h)
}

// Patterns returns the registered patterns, sorted.
func (rt *Router) Patterns() []string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return slices.Sorted(slices.Values(rt.patterns))
}

// ServeHTTP dispatches r, turning the mux's plain-text 404 and 405 into problems.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !cleanPath(r.URL.Path) {
		// The mux would redirect to the clean path, which a client may
		// follow to another resource than it named, even with a POST.
		WriteProblem(w, NewProblem(404, "no route for "+r.Method+" "+r.URL.Path+": paths have no empty, . or .. segments"))
		return
	}
	h, pattern := rt.mux.Handler(r)
	if pattern != "" {
		if st := rt.idempotencyStore(pattern); st != nil {
			rt.serveIdempotent(w, r, pattern, st)
		} else if rt.cacheable(r, pattern) {
			rt.servePublic(w, r, pattern)
		} else {
			rt.mux.ServeHTTP(w, r)
		}
		if info := infoFrom(r.Context()); info != nil {
			info.pattern = r.Pattern
		}
		return
	}
	// No route: let the mux say which (404, or 405 with Allow).
	rec := &headerRecorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	if rec.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", rec.header.Get("Allow"))
		WriteProblem(w, NewProblem(405, r.Method+" is not allowed here; allowed: "+rec.header.Get("Allow")))
		return
	}
	WriteProblem(w, NewProblem(404, "no route for "+r.Method+" "+r.URL.Path))
}

// cleanPath reports whether p has no empty, . or .. segments (a trailing
// slash aside).
func cleanPath(p string) bool {
	c := path.Clean(p)
	return c == p || c+"/" == p
}

// headerRecorder keeps a status and headers and drops the body.
type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header { return h.header }
func (h *headerRecorder) Write(b []byte) (int, error) {
	if h.status == 0 {
		h.status = 200
	}
	return len(b), nil
}
func (h *headerRecorder) WriteHeader(s int) {
	if h.status == 0 {
		h.status = s
	}
}
