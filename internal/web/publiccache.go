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
	e, ok := rt.public.cache.Get(key, now)
	if !ok {
		// Render the full answer even for a revalidation, so that clients
		// holding a tag refill the cache rather than bypass it.
		inm := r.Header.Get("If-None-Match")
		r.Header.Del("If-None-Match")
		rec := &bodyRecorder{header: http.Header{}}
		rt.mux.ServeHTTP(rec, r)
		r.Header.Set("If-None-Match", inm)
		if rec.status != http.StatusOK || !strings.HasPrefix(rec.header.Get("Cache-Control"), "public, max-age=") {
			rec.copyTo(w)
			return
		}
		e = cache.Entry{Body: rec.body, ETag: rec.header.Get("Etag"), CacheControl: rec.header.Get("Cache-Control")}
		rt.public.cache.Put(key, e, now)
	}
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
}

// bodyRecorder keeps a whole response.
type bodyRecorder struct {
	header http.Header
	status int
	body   []byte
}

func (b *bodyRecorder) Header() http.Header { return b.header }

func (b *bodyRecorder) WriteHeader(s int) {
	if b.status == 0 {
		b.status = s
	}
}

func (b *bodyRecorder) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	b.body = append(b.body, p...)
	return len(p), nil
}

// copyTo sends the recorded response.
func (b *bodyRecorder) copyTo(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	if b.status == 0 {
		b.status = http.StatusOK
	}
	w.WriteHeader(b.status)
	w.Write(b.body)
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
