// Package tcpproxy is a test helper: a TCP proxy on 127.0.0.1 that forwards
// every connection to one target and can cut them all and refuse new ones
// until restored. To a client that is what a broker restart or a network
// outage looks like, without stopping a broker that other tests share.
package tcpproxy

import (
	"net"
	"net/url"
	"sync"
	"testing"
	"time"
)

// dialTimeout bounds the connection to the target that each accepted
// connection waits for.
const dialTimeout = 5 * time.Second

// Proxy forwards TCP connections to a target. It is safe for concurrent
// use; Close leaves no goroutine of it running.
type Proxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup // the accept loop and every forwarding

	mu       sync.Mutex
	conns    map[net.Conn]struct{} // both ends of every open forwarding
	refusing bool
	refused  int
	cutAfter int64 // cut once this many more bytes went to the target; 0: never
	cutReply bool  // cut instead of passing on the target's next bytes
}

// Start listens on 127.0.0.1 (a free port) and forwards every connection
// to target, a host:port.
func Start(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.accept)
	return p, nil
}

// ForURL starts a proxy to the host of rawURL (at defaultPort when the URL
// names none), closes it when tb's test ends, and returns it with rawURL
// pointed at it. It fails tb when it cannot.
func ForURL(tb testing.TB, rawURL, defaultPort string) (*Proxy, string) {
	tb.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		tb.Fatal(err)
	}
	target := u.Host
	if u.Port() == "" {
		target = net.JoinHostPort(u.Hostname(), defaultPort)
	}
	p, err := Start(target)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = p.Close() })
	u.Host = p.Addr()
	return p, u.String()
}

// Down starts a proxy that is cut from the start and has no target: a
// broker that is down, which accepts every connection, hangs up at once
// and counts it (Refused). It is closed when tb's test ends.
func Down(tb testing.TB) *Proxy {
	tb.Helper()
	p, err := Start("")
	if err != nil {
		tb.Fatal(err)
	}
	p.Cut()
	tb.Cleanup(func() { _ = p.Close() })
	return p
}

// Addr returns the host:port the proxy listens on.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Cut closes every forwarded connection and refuses new ones (accepting
// and closing them at once) until Restore.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refusing = true
	for c := range p.conns {
		_ = c.Close()
	}
}

// Restore forwards new connections again after a Cut.
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refusing = false
}

// CutAfter arms a Cut for when n more bytes have gone to the target (the
// bytes past those are not passed on), to cut a connection in the middle
// of a stream.
func (p *Proxy) CutAfter(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutAfter = n
}

// CutOnReply arms a Cut for when the target next sends something, which is
// then never passed on: a broker's confirm, say.
func (p *Proxy) CutOnReply() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutReply = true
}

// Refused returns how many connections the proxy has refused because it
// was cut.
func (p *Proxy) Refused() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.refused
}

// Close stops listening, closes every connection and returns once all of
// the proxy's goroutines have ended.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	p.Cut()
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		if !p.track(c) {
			continue
		}
		p.wg.Go(func() { p.forward(c) })
	}
}

// track adds c to the open connections, or closes it and says so when the
// proxy is cut.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.refusing {
		p.refused++
		_ = c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

// forward connects c to the target and copies both ways until either end
// closes or the proxy is cut.
func (p *Proxy) forward(c net.Conn) {
	up, err := net.DialTimeout("tcp", p.target, dialTimeout)
	if err != nil {
		p.drop(c)
		return
	}
	// A Cut while dialling has closed c; refuse the new end too.
	if !p.track(up) {
		p.drop(c)
		return
	}
	var wg sync.WaitGroup
	wg.Go(func() { p.pipe(up, c, true) })
	p.pipe(c, up, false)
	wg.Wait()
}

// pipe copies src to dst until either closes, then closes both. upstream
// says dst is the target: those bytes count towards CutAfter, the others
// are what CutOnReply stops.
func (p *Proxy) pipe(dst, src net.Conn, upstream bool) {
	defer p.drop(src)
	defer p.drop(dst)
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			cut := false
			if upstream {
				n, cut = p.count(n)
			} else if p.replyDue() {
				p.Cut()
				return
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
			if cut {
				p.Cut()
				return
			}
		}
		if err != nil {
			return // EOF, a cut or a closed end: nothing to report
		}
	}
}

// count takes n bytes read for the target and returns how many of them to
// pass on, and whether the armed CutAfter is due once they are.
func (p *Proxy) count(n int) (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cutAfter <= 0 {
		return n, false
	}
	if int64(n) < p.cutAfter {
		p.cutAfter -= int64(n)
		return n, false
	}
	n, p.cutAfter = int(p.cutAfter), 0
	return n, true
}

func (p *Proxy) replyDue() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	due := p.cutReply
	p.cutReply = false
	return due
}

// drop closes c and forgets it.
func (p *Proxy) drop(c net.Conn) {
	_ = c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}
