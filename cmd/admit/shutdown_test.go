package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets a test run this very binary as "admit" in a subprocess.
func TestMain(m *testing.M) {
	if os.Getenv("ADMIT_TEST_RUN_MAIN") == "1" {
		os.Args = append([]string{"admit"}, strings.Fields(os.Getenv("ADMIT_TEST_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// process is admit serve running as a child process.
type process struct {
	cmd   *exec.Cmd
	addr  string
	lines chan map[string]any // stderr log lines, decoded
}

// startProcess runs admit with args and waits until it listens.
func startProcess(t *testing.T, args ...string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "ADMIT_TEST_RUN_MAIN=1", "ADMIT_TEST_ARGS="+strings.Join(args, " "))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, lines: make(chan map[string]any, 1000)}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) == nil {
				p.lines <- line
			}
		}
		close(p.lines)
	}()
	line := p.waitLog(t, "listening")
	p.addr, _ = line["addr"].(string)
	return p
}

// waitLog returns the first log line with message msg.
func (p *process) waitLog(t *testing.T, msg string) map[string]any {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				t.Fatalf("admit exited before logging %q", msg)
			}
			if line["msg"] == msg {
				return line
			}
		case <-timeout:
			t.Fatalf("admit did not log %q within a minute", msg)
		}
	}
}

// TestSIGTERMFinishesInFlightRequests starts a request, sends SIGTERM while
// its body is still arriving, and checks that the request completes and the
// process exits 0.
func TestSIGTERMFinishesInFlightRequests(t *testing.T) {
	p := startProcess(t, "serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir())
	body, write := io.Pipe()
	done := make(chan *http.Response, 1)
	go func() {
		req, _ := http.NewRequest("POST", "http://"+p.addr+"/api/v1/accounts", body)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("in-flight request failed: %v", err)
			done <- nil
			return
		}
		done <- res
	}()
	io.WriteString(write, `{"email": "late@example.com", `)
	// The server has the request once it reads its headers; make sure by
	// waiting until another request on a new connection is answered.
	if res, err := http.Get("http://" + p.addr + "/healthz"); err != nil || res.StatusCode != 200 {
		t.Fatalf("healthz: %v", err)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.waitLog(t, "shutting down")
	io.WriteString(write, `"password": "long enough password", "name": "Late"}`)
	write.Close()
	res := <-done
	if res == nil || res.StatusCode != 201 {
		t.Fatalf("in-flight request answered %v, want 201", res)
	}
	p.waitLog(t, "stopped")
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("admit exited with %v after SIGTERM, want 0", err)
	}
}
