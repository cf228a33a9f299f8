package main

// The HTTP/3 side of the driver (subcommands h3-server and h3-client), on
// quic-go's own http3 package. See "HTTP/3" in test/interop/README.md.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// shutdownGrace bounds how long a SIGTERM'd server waits for its in-flight
// requests after GOAWAY before it closes what is left.
const shutdownGrace = 15 * time.Second

func runH3Server(args []string) int {
	fs := newFlagSet("h3-server")
	sf := addServerFlags(fs)
	fs.Bool("h3", true, "accepted for symmetry with other drivers")
	timeout, err := sf.parse(fs, args)
	if err != nil {
		return fail("h3-server: %v", err)
	}
	cert, err := sf.loadCert()
	if err != nil {
		return fail("h3-server: %v", err)
	}
	udp, err := sf.listen()
	if err != nil {
		return fail("h3-server: %v", err)
	}
	srv := &http3.Server{
		TLSConfig: http3.ConfigureTLSConfig(&tls.Config{
			Certificates: []tls.Certificate{cert},
			MinVersion:   tls.VersionTLS13,
		}),
		QUICConfig: &quic.Config{
			MaxIdleTimeout: 30 * time.Second,
			Allow0RTT:      true,
			Tracer:         withQlogDir(nil),
		},
		Handler: h3Handler(*sf.root),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(udp) }()
	fmt.Printf("READY %d\n", udp.LocalAddr().(*net.UDPAddr).Port)
	os.Stdout.Sync()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case s := <-sig:
		// Graceful: GOAWAY, then wait for the requests in flight.
		fmt.Println("GOAWAY sent")
		os.Stdout.Sync()
		logf("h3-server: %v: shutting down gracefully", s)
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			logf("h3-server: shutdown: %v", err)
		}
	case <-time.After(timeout):
		logf("h3-server: --timeout of %v reached, exiting", timeout)
		srv.Close()
	case err := <-served:
		return fail("h3-server: %v", err)
	}
	udp.Close()
	return 0
}

func h3Handler(root string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/echo" {
			h3Echo(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		f, st, err := openUnder(root, r.URL.Path)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		w.Header().Set("Content-Length", strconv.FormatInt(st.Size(), 10))
		w.Header().Set("Content-Type", "application/octet-stream")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodHead {
			return
		}
		if _, err := io.Copy(w, f); err != nil {
			logf("h3-server: GET %s: %v", r.URL.Path, err)
		}
	})
}

// h3Echo streams the request body back as it arrives: the response starts
// before the request has ended.
func h3Echo(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush()
	}
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				logf("h3-server: echo: %v", werr)
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			logf("h3-server: echo: %v", err)
			return
		}
	}
}

type h3Client struct {
	cc        *http3.ClientConn
	authority string
	outDir    string
}

func runH3Client(args []string) int {
	fs := newFlagSet("h3-client")
	cf := addClientFlags(fs)
	post := fs.String("post", "", "POST this file's bytes to /echo, save the answer as OUT/echo")
	cancelFirst := fs.Bool("cancel", false, "cancel the first GET after its first bytes, then GET the rest")
	fs.Bool("h3", true, "accepted for symmetry with other drivers")
	paths, timeout, err := cf.parse(fs, args)
	if err != nil {
		return fail("h3-client: %v", err)
	}
	if *cf.port <= 0 || *cf.caFile == "" || *cf.outDir == "" || (len(paths) == 0 && *post == "") {
		return fail("h3-client: --port, --ca, --out and a PATH or --post are required")
	}
	if *cancelFirst && len(paths) < 1 {
		return fail("h3-client: --cancel needs a PATH")
	}
	roots, err := cf.prepare()
	if err != nil {
		return fail("h3-client: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	watchdog(timeout)

	tlsConf := cf.tlsConfig(roots, http3.NextProtoH3)
	conn, err := quic.DialAddr(ctx, cf.addr(), tlsConf, &quic.Config{
		HandshakeIdleTimeout: 10 * time.Second,
		MaxIdleTimeout:       30 * time.Second,
		Tracer:               withQlogDir(nil),
	})
	if err != nil {
		return fail("h3-client: handshake: %v", err)
	}
	defer conn.CloseWithError(quic.ApplicationErrorCode(http3.ErrCodeNoError), "")
	tr := &http3.Transport{DisableCompression: true}
	c := &h3Client{
		cc:        tr.NewClientConn(conn),
		authority: net.JoinHostPort(*cf.serverName, fmt.Sprint(*cf.port)),
		outDir:    *cf.outDir,
	}

	var errs []error
	var mu sync.Mutex
	var wg sync.WaitGroup
	record := func(err error) {
		if err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
	}
	if *cancelFirst {
		cancelled, err := c.cancelOne(ctx, paths[0])
		if err != nil {
			return fail("h3-client: %v", err)
		}
		say("CANCELLED %t", cancelled)
		paths = paths[1:]
	}
	for _, p := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			record(c.get(ctx, p))
		}()
	}
	if *post != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			record(c.post(ctx, *post))
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		total := len(paths)
		if *post != "" {
			total++
		}
		return fail("h3-client: %d of %d requests failed, first: %v", len(errs), total, errs[0])
	}
	return 0
}

func (c *h3Client) url(p string) string { return "https://" + c.authority + p }

// save writes a 200 response's body to OUT/name and checks it against
// Content-Length when the server sent one.
func (c *h3Client) save(rsp *http.Response, name string) error {
	defer rsp.Body.Close()
	if rsp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %d", name, rsp.StatusCode)
	}
	file := filepath.Join(c.outDir, name)
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, rsp.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && rsp.ContentLength >= 0 && n != rsp.ContentLength {
		err = fmt.Errorf("%d of %d bytes", n, rsp.ContentLength)
	}
	if err != nil {
		os.Remove(file)
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func (c *h3Client) get(ctx context.Context, p string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url(p), nil)
	if err != nil {
		return err
	}
	rsp, err := c.cc.RoundTrip(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", p, err)
	}
	return c.save(rsp, path.Base(p))
}

func (c *h3Client) post(ctx context.Context, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url("/echo"), f)
	if err != nil {
		f.Close()
		return err
	}
	req.ContentLength = st.Size()
	req.Header.Set("Content-Type", "application/octet-stream")
	rsp, err := c.cc.RoundTrip(req)
	if err != nil {
		return fmt.Errorf("POST /echo: %w", err)
	}
	return c.save(rsp, "echo")
}

// cancelOne starts a GET, reads its first bytes, then abandons it: closing
// the body stops reading with H3_REQUEST_CANCELLED (STOP_SENDING) and the
// request context's cancellation resets our side of the stream.
func (c *h3Client) cancelOne(ctx context.Context, p string) (bool, error) {
	reqCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodGet, c.url(p), nil)
	if err != nil {
		return false, err
	}
	rsp, err := c.cc.RoundTrip(req)
	if err != nil {
		return false, fmt.Errorf("GET %s (to cancel): %w", p, err)
	}
	buf := make([]byte, 1)
	n, err := io.ReadFull(rsp.Body, buf)
	if n == 0 {
		rsp.Body.Close()
		return false, fmt.Errorf("GET %s (to cancel): no first byte: %v", p, err)
	}
	cancel()
	rsp.Body.Close()
	logf("h3-client: cancelled GET %s after its first bytes", p)
	return true, nil
}
