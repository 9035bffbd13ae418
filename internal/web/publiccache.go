package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/admit-events/admit/internal/cache"
)

// publicCache answers anonymous GETs of marked routes from responses
// rendered earlier, keyed by the raw URL, before any parsing: a CDN in
// process. Only answers the handler marked "public, max-age" are kept.
type publicCache struct {
	patterns map[string]bool
	cache    *cache.Cache
}

// Cached serves the GET patterns through c; call before serving.
func (rt *Router) Cached(c *cache.Cache, patterns ...string) {
	rt.public.cache = c
	rt.public.patterns = map[string]bool{}
	for _, p := range patterns {
		rt.public.patterns[p] = true
	}
}

func (rt *Router) cacheable(r *http.Request, pattern string) bool {
	return rt.public.patterns[pattern] && r.Header.Get("Authorization") == ""
}

// servePublic answers r from the cache, or renders it and keeps the answer.
func (rt *Router) servePublic(w http.ResponseWriter, r *http.Request, pattern string) {
	key := r.URL.Path + "?" + r.URL.RawQuery
	now := time.Now()
	if e, ok := rt.public.cache.Get(key, now); ok {
		r.Pattern = pattern
		h := w.Header()
		h.Set("Cache-Control", e.CacheControl)
		h.Set("Etag", e.ETag)
		if ETagMatches(r.Header.Get("If-None-Match"), e.ETag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(e.Body))) // one write, no chunking
		w.Write(e.Body)
		return
	}
	rec := &bodyRecorder{ResponseWriter: w}
	rt.mux.ServeHTTP(rec, r)
	h := w.Header()
	if rec.status == http.StatusOK && strings.HasPrefix(h.Get("Cache-Control"), "public, max-age=") {
		rt.public.cache.Put(key, cache.Entry{Body: rec.body, ETag: h.Get("Etag"), CacheControl: h.Get("Cache-Control")}, now)
	}
}

// bodyRecorder passes a response through and keeps a copy of its body.
type bodyRecorder struct {
	http.ResponseWriter
	status int
	body   []byte
}

func (b *bodyRecorder) WriteHeader(s int) {
	if b.status == 0 {
		b.status = s
	}
	b.ResponseWriter.WriteHeader(s)
}

func (b *bodyRecorder) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	b.body = append(b.body, p...)
	return b.ResponseWriter.Write(p)
}

// ETagMatches implements If-None-Match's weak comparison over a list of tags.
func ETagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}
