package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/admit-events/admit/internal/testenv"
)

// testServer is a real admit serve process (in this test process) on a
// loopback port, with its own database.
type testServer struct {
	t      testing.TB
	m      *Main
	base   string
	engine testenv.Engine
}

// storageArgs are the flags that point a command at the engine's database.
func storageArgs(e testenv.Engine) []string {
	if e.URL != "" {
		return []string{"--database-url", e.URL}
	}
	return []string{"--data-dir", e.DataDir}
}

// startServer runs admit serve on 127.0.0.1:0 until the test ends.
func startServer(t testing.TB, e testenv.Engine, extra ...string) *testServer {
	t.Helper()
	m := NewMain(io.Discard, io.Discard)
	args := append([]string{"--addr", "127.0.0.1:0", "--log-requests=false"}, storageArgs(e)...)
	if err := m.ParseFlags(append(args, extra...)); err != nil {
		t.Fatalf("parse flags: %v", err)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatalf("run: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return &testServer{t: t, m: m, base: "http://" + m.Addr(), engine: e}
}

// response is an answer read whole.
type response struct {
	*http.Response
	body []byte
}

// decode unmarshals the body into v, failing the test on error.
func (r response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v: %s", r.Request.URL, err, r.body)
	}
}

// want fails the test unless the status is status.
func (r response) want(t testing.TB, status int) response {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d: %s", r.Request.Method, r.Request.URL.Path, r.StatusCode, status, r.body)
	}
	return r
}

// call sends a request; body is JSON-encoded unless it is a string or []byte.
func (s *testServer) call(method, path, token string, body any, headers ...string) response {
	s.t.Helper()
	r, err := s.try(method, path, token, body, headers...)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// try is call for requests that may fail, such as those to a killed server.
func (s *testServer) try(method, path, token string, body any, headers ...string) (response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.base+path, rd)
	if err != nil {
		return response{}, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return response{}, err
	}
	return response{res, raw}, nil
}

// createUser runs admit user create against the server's database, as an
// operator would while the server runs, and returns a token for the account.
func (s *testServer) createUser(email, role, org string) string {
	s.t.Helper()
	args := append([]string{"user", "create", "--email", email, "--role", role}, storageArgs(s.engine)...)
	if org != "" {
		args = append(args, "--org", org)
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), args, strings.NewReader("a long enough password\n"), &out, &errOut); err != nil {
		s.t.Fatalf("admit %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return s.login(email, "a long enough password")
}

// login returns a bearer token.
func (s *testServer) login(email, password string) string {
	s.t.Helper()
	var tok struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	s.call("POST", "/api/v1/auth/token", "", map[string]string{"email": email, "password": password}).want(s.t, 200).decode(s.t, &tok)
	if tok.Token == "" || tok.ExpiresAt.Before(time.Now()) {
		s.t.Fatalf("login: bad token answer %+v", tok)
	}
	return tok.Token
}

// problem is an RFC 9457 document as received.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Location string `json:"location"`
		Message  string `json:"message"`
	} `json:"errors"`
}

// wantProblem checks that r is a problem document of status whose errors
// name location (when not empty).
func (r response) wantProblem(t testing.TB, status int, location string) problem {
	t.Helper()
	r.want(t, status)
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("%s %s: Content-Type %q, want application/problem+json", r.Request.Method, r.Request.URL, ct)
	}
	var p problem
	r.decode(t, &p)
	if p.Status != status || p.Title == "" || !strings.HasPrefix(p.Type, "https://") || p.Detail == "" {
		t.Fatalf("%s %s: incomplete problem %+v", r.Request.Method, r.Request.URL, p)
	}
	if strings.Contains(string(r.body), "Go struct") || strings.Contains(string(r.body), "json: ") {
		t.Errorf("%s %s: the problem speaks Go: %s", r.Request.Method, r.Request.URL, r.body)
	}
	if location != "" {
		found := false
		for _, e := range p.Errors {
			found = found || e.Location == location
		}
		if !found {
			t.Fatalf("%s %s: problem does not name %s: %s", r.Request.Method, r.Request.URL, location, r.body)
		}
	}
	return p
}
