package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/quic-go/quic-go"
)

// Stream error codes of the hq-interop answer when no file is sent.
const (
	codeNotFound   quic.StreamErrorCode = 404
	codeBadRequest quic.StreamErrorCode = 400
)

// maxRequest bounds the request line we buffer, so a peer cannot make us
// hold an unbounded amount of memory per stream.
const maxRequest = 8 << 10

func runServer(args []string) int {
	fs := newFlagSet("server")
	sf := addServerFlags(fs)
	retry := fs.Bool("retry", false, "require a Retry round-trip")
	timeout, err := sf.parse(fs, args)
	if err != nil {
		return fail("server: %v", err)
	}
	if st, err := os.Stat(*sf.root); err != nil || !st.IsDir() {
		return fail("server: --root %q is not a directory", *sf.root)
	}
	cert, err := sf.loadCert()
	if err != nil {
		return fail("server: %v", err)
	}

	udp, err := sf.listen()
	if err != nil {
		return fail("server: %v", err)
	}
	tr := &quic.Transport{
		Conn: udp,
		// quic-go sends a Retry exactly when this returns true; with --retry
		// every connection attempt is asked to prove its address first.
		VerifySourceAddress: func(net.Addr) bool { return *retry },
	}
	defer tr.Close()

	tlsConf := &tls.Config{
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{alpn},
		MinVersion:   tls.VersionTLS13,
		// Session tickets are on by default in crypto/tls; quic-go adds the
		// early-data bit to them when Allow0RTT is set.
	}
	conf := &quic.Config{
		Allow0RTT:      true,
		MaxIdleTimeout: 30 * time.Second,
		Tracer:         withQlogDir(nil),
	}
	// ListenEarly hands us connections (and their 0-RTT streams) before the
	// handshake finishes, which is what lets 0-RTT requests be answered.
	ln, err := tr.ListenEarly(tlsConf, conf)
	if err != nil {
		return fail("server: %v", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	s := &server{root: *sf.root, conns: map[*quic.Conn]struct{}{}}
	go s.acceptLoop(ctx, ln)

	fmt.Printf("READY %d\n", udp.LocalAddr().(*net.UDPAddr).Port)
	os.Stdout.Sync()

	<-ctx.Done()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		logf("server: --timeout of %v reached, exiting", timeout)
	}
	ln.Close()
	s.closeAll()
	return 0
}

type server struct {
	root  string
	mu    sync.Mutex
	conns map[*quic.Conn]struct{}
}

func (s *server) acceptLoop(ctx context.Context, ln *quic.EarlyListener) {
	for {
		conn, err := ln.Accept(ctx)
		if err != nil {
			return // listener closed or shutting down
		}
		s.mu.Lock()
		s.conns[conn] = struct{}{}
		s.mu.Unlock()
		go s.serveConn(conn)
	}
}

// closeAll sends CONNECTION_CLOSE to every live connection, because closing
// the Transport alone would drop them silently and leave peers to time out.
func (s *server) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for conn := range s.conns {
		conn.CloseWithError(0, "server shutting down")
	}
	// Give the close packets a moment to leave before the socket goes away.
	if len(s.conns) > 0 {
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *server) serveConn(conn *quic.Conn) {
	defer func() {
		s.mu.Lock()
		delete(s.conns, conn)
		s.mu.Unlock()
	}()
	for {
		// The connection's context bounds this: it ends when the connection does.
		str, err := conn.AcceptStream(context.Background())
		if err != nil {
			return
		}
		go s.serveStream(str)
	}
}

func (s *server) serveStream(str *quic.Stream) {
	// A stalled peer must not pin this goroutine forever.
	str.SetReadDeadline(time.Now().Add(30 * time.Second))
	path, err := readRequest(str)
	if err != nil {
		logf("server: stream %d: bad request: %v", str.StreamID(), err)
		str.CancelRead(codeBadRequest)
		str.CancelWrite(codeBadRequest)
		return
	}
	f, err := s.open(path)
	if err != nil {
		logf("server: stream %d: GET %s: %v", str.StreamID(), path, err)
		str.CancelRead(codeNotFound)
		str.CancelWrite(codeNotFound)
		return
	}
	defer f.Close()
	if _, err := io.Copy(str, f); err != nil {
		logf("server: stream %d: GET %s: sending: %v", str.StreamID(), path, err)
		str.CancelWrite(quic.StreamErrorCode(0))
		return
	}
	str.Close() // FIN after the last byte
}

// readRequest reads "GET /path\r\n" (a bare "\n" or the peer's FIN also ends
// the line) and returns the path.
func readRequest(str *quic.Stream) (string, error) {
	var buf []byte
	chunk := make([]byte, 1024)
	for {
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			buf = buf[:i]
			break
		}
		if len(buf) > maxRequest {
			return "", fmt.Errorf("request line longer than %d bytes", maxRequest)
		}
		n, err := str.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", err
		}
	}
	line := strings.TrimRight(string(buf), "\r\n")
	method, path, ok := strings.Cut(line, " ")
	if !ok || method != "GET" || !strings.HasPrefix(path, "/") {
		return "", fmt.Errorf("malformed request line %q", line)
	}
	return path, nil
}

// open maps a request path to a regular file under root.
func (s *server) open(path string) (*os.File, error) {
	f, _, err := openUnder(s.root, path)
	return f, err
}
