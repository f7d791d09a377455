package main

import (
	"io"
	"net"
	"sync"
)

// startForwarder runs the least a proxy can do in front of the cluster: a relay
// that copies bytes both ways, written in Go the way pgmask relays (a goroutine per
// direction on the runtime's network poller), with no protocol parsing, no policy and
// no audit. Its row is the floor of what any proxy process costs on this machine — an
// extra hop with two more socket reads, two more writes and two more wake-ups per
// round trip — so pgmask's own cost is its distance from this row, not from direct.
// Clients connect over TCP; it reaches PostgreSQL on upstream, the path of its Unix
// socket, as the pgmask rows do.
func startForwarder(upstream string, direct target) (target, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return target{}, nil, err
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("unix", upstream)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, u)
			mu.Unlock()
			wg.Add(2)
			go relayBytes(&wg, u, c)
			go relayBytes(&wg, c, u)
		}
	}()
	t := direct
	t.name, t.host, t.port, t.cpu = "go-forwarder", "127.0.0.1", ln.Addr().(*net.TCPAddr).Port, selfCPU
	return t, func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}, nil
}

// relayBytes copies src to dst until either side closes, then closes both.
func relayBytes(wg *sync.WaitGroup, dst, src net.Conn) {
	defer wg.Done()
	buf := make([]byte, 32<<10)
	io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, buf)
	dst.Close()
	src.Close()
}
