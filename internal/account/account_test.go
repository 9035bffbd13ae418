package account

import (
	"testing"
	"time"
)

var cheap = Params{Memory: 1024, Time: 1, Threads: 1}

func TestPasswordHashes(t *testing.T) {
	h := HashPassword("correct horse battery", cheap)
	if !CheckPassword("correct horse battery", h) {
		t.Fatal("the right password does not match its hash")
	}
	for _, wrong := range []string{"correct horse batterY", "", "correct horse battery "} {
		if CheckPassword(wrong, h) {
			t.Fatalf("%q matched", wrong)
		}
	}
	if h == HashPassword("correct horse battery", cheap) {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	for _, bad := range []string{"", "$argon2id$v=19$m=1024,t=1,p=1$!!$!!", "$bcrypt$x", "$argon2id$v=19$m=x$a$b"} {
		if CheckPassword("x", bad) {
			t.Fatalf("malformed hash %q matched", bad)
		}
	}
}

func TestFailureLimiter(t *testing.T) {
	l := newFailureLimiter(3, time.Minute)
	now := time.Unix(1000, 0)
	for i := range 3 {
		if d := l.retryAfter("k", now); d != 0 {
			t.Fatalf("attempt %d refused", i)
		}
		l.fail("k", now.Add(time.Duration(i)*time.Second))
	}
	if d := l.retryAfter("k", now.Add(3*time.Second)); d != 57*time.Second {
		t.Fatalf("after 3 failures: wait %s, want 57s (until the first failure leaves the window)", d)
	}
	if d := l.retryAfter("other", now); d != 0 {
		t.Fatal("failures of one key limited another")
	}
	if d := l.retryAfter("k", now.Add(time.Minute)); d != 0 {
		t.Fatalf("the window moved on but the key still waits %s", d)
	}
	l.fail("k", now)
	l.reset("k")
	if d := l.retryAfter("k", now); d != 0 {
		t.Fatal("reset kept failures")
	}
}
