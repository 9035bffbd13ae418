package cache

import (
	"testing"
	"time"
)

func TestEntriesExpireAfterTTL(t *testing.T) {
	c := New(5 * time.Second)
	now := time.Unix(1000, 0)
	c.Put("k", Entry{Body: []byte(`{"a":1}`), ETag: `"x"`}, now)
	if got, ok := c.Get("k", now.Add(5*time.Second)); !ok || got.ETag != `"x"` || string(got.Body) != `{"a":1}` {
		t.Fatalf("within the TTL: %v %+v", ok, got)
	}
	if _, ok := c.Get("k", now.Add(5*time.Second+time.Nanosecond)); ok {
		t.Fatal("an entry outlived its TTL: other processes' writes would never show")
	}
}

func TestClearAndDisabled(t *testing.T) {
	c := New(time.Minute)
	now := time.Now()
	c.Put("k", Entry{Body: []byte("x")}, now)
	c.Clear()
	if _, ok := c.Get("k", now); ok {
		t.Fatal("Clear kept an entry")
	}
	off := New(0)
	off.Put("k", Entry{Body: []byte("x")}, now)
	if _, ok := off.Get("k", now); ok {
		t.Fatal("a disabled cache returned an entry")
	}
}

func TestETagChangesWithBody(t *testing.T) {
	a1, a2 := ETag([]byte("a")), ETag([]byte(string("a")))
	if ETag([]byte("b")) == a1 || a1 != a2 {
		t.Fatal("ETag must be a function of the body")
	}
}
