package tcpproxy_test

import (
	"bufio"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rida-build/rida/internal/tcpproxy"
)

// echo starts a server that sends back what it reads, and returns its
// address.
func echo(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { _, _ = io.Copy(c, c); _ = c.Close() })
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func start(t *testing.T) *tcpproxy.Proxy {
	t.Helper()
	p, err := tcpproxy.Start(echo(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func dial(t *testing.T, p *tcpproxy.Proxy) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

// roundTrip sends line and returns what comes back, or the read error.
func roundTrip(c net.Conn, line string) (string, error) {
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", err
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSuffix(got, "\n"), err
}

// closed reports whether the proxy hung up on c: a read ends without data.
func closed(c net.Conn) bool {
	n, err := c.Read(make([]byte, 1))
	return n == 0 && err != nil
}

// Ensure connections are forwarded both ways, Cut ends them and refuses new
// ones, counting them, and Restore forwards again.
func TestProxy_CutRestore(t *testing.T) {
	p := start(t)
	c := dial(t, p)
	if got, err := roundTrip(c, "hello"); err != nil || got != "hello" {
		t.Fatalf("round trip = %q, %v; want hello", got, err)
	}

	p.Cut()
	if !closed(c) {
		t.Error("a connection survived Cut")
	}
	for range 3 {
		if !closed(dial(t, p)) {
			t.Error("a connection after Cut was not refused")
		}
	}
	if got := p.Refused(); got != 3 {
		t.Errorf("Refused = %d, want 3", got)
	}

	p.Restore()
	if got, err := roundTrip(dial(t, p), "again"); err != nil || got != "again" {
		t.Fatalf("round trip after Restore = %q, %v; want again", got, err)
	}
}

// Ensure CutAfter passes exactly the armed bytes on and then cuts.
func TestProxy_CutAfter(t *testing.T) {
	p := start(t)
	c := dial(t, p)
	p.CutAfter(4)
	if _, err := io.WriteString(c, "abcdefgh"); err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(c)
	if string(got) != "abcd" && string(got) != "" {
		// The echo may not have answered before the cut.
		t.Errorf("echoed %q after CutAfter(4), want at most abcd", got)
	}
	if !closed(dial(t, p)) {
		t.Error("not cut after the armed bytes")
	}
}

// Ensure CutOnReply cuts instead of passing the target's answer on.
func TestProxy_CutOnReply(t *testing.T) {
	p := start(t)
	c := dial(t, p)
	p.CutOnReply()
	if got, err := roundTrip(c, "confirm me"); err == nil || got != "" {
		t.Errorf("round trip = %q, %v; want the connection cut before the reply", got, err)
	}
	p.Restore()
	if got, err := roundTrip(dial(t, p), "once"); err != nil || got != "once" {
		t.Errorf("the next reply was cut too: %q, %v", got, err)
	}
}

// Ensure ForURL points a URL at the proxy, with the default port when the
// URL has none.
func TestForURL(t *testing.T) {
	target := echo(t)
	host, port, _ := net.SplitHostPort(target)
	p, u := tcpproxy.ForURL(t, "amqp://guest:guest@"+host+"/vhost", port)
	if want := "amqp://guest:guest@" + p.Addr() + "/vhost"; u != want {
		t.Errorf("URL = %q, want %q", u, want)
	}
	if got, err := roundTrip(dial(t, p), "x"); err != nil || got != "x" {
		t.Errorf("round trip = %q, %v; want x (the default port)", got, err)
	}
}

// Ensure the proxy can be used from many goroutines at once, and Close
// leaves none of its goroutines running.
func TestProxy_ConcurrentAndClose(t *testing.T) {
	p, err := tcpproxy.Start(echo(t))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			c, err := net.Dial("tcp", p.Addr())
			if err != nil {
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			_, _ = roundTrip(c, strings.Repeat("x", i*1000))
		})
		if i%5 == 0 {
			wg.Go(func() { p.Cut(); _ = p.Refused(); p.Restore() })
		}
	}
	open := dial(t, p) // still open at Close
	wg.Wait()
	if err := p.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	if !closed(open) {
		t.Error("a connection survived Close")
	}
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	if strings.Contains(string(buf), "tcpproxy.(*Proxy)") {
		t.Errorf("goroutines of the proxy still run after Close:\n%s", buf)
	}
}

// Ensure Down hangs up on every connection and counts them.
func TestDown(t *testing.T) {
	p := tcpproxy.Down(t)
	for range 2 {
		if !closed(dial(t, p)) {
			t.Error("Down forwarded a connection")
		}
	}
	if got := p.Refused(); got != 2 {
		t.Errorf("Refused = %d, want 2", got)
	}
}
