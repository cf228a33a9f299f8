package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"
)

// probeTimeout bounds path validation during --migrate; a loopback
// PATH_CHALLENGE/PATH_RESPONSE takes well under a millisecond.
const probeTimeout = 5 * time.Second

type client struct {
	remote  *net.UDPAddr
	tlsConf *tls.Config
	conf    *quic.Config
	outDir  string
	migrate bool

	mu         sync.Mutex
	transports []*quic.Transport // closed last, after their connections

	// Seen through observeTracer (--key-update, --zero-rtt).
	localKeyUpdate  atomic.Bool
	remoteKeyUpdate atomic.Bool
	sent0RTT        atomic.Int64
}

// stdoutMu keeps result lines whole when the watchdog fires mid-print.
var stdoutMu sync.Mutex

func say(format string, a ...any) {
	stdoutMu.Lock()
	defer stdoutMu.Unlock()
	fmt.Printf(format+"\n", a...)
}

func runClient(args []string) int {
	fs := newFlagSet("client")
	cf := addClientFlags(fs)
	resume := fs.Bool("resume", false, "first path on one connection, the rest on a resumed one")
	zeroRTT := fs.Bool("zero-rtt", false, "like --resume, with the second connection's requests in 0-RTT")
	migrate := fs.Bool("migrate", false, "move to a new local port after the first response starts")
	keyUpdate := fs.Bool("key-update", false, "report whether a key update was initiated")
	// quic-go's OpenStreamSync always waits for MAX_STREAMS credit, so this
	// contract flag needs no extra behaviour here.
	fs.Bool("max-streams-wait", false, "wait for stream credit (always the case with quic-go)")
	paths, timeout, err := cf.parse(fs, args)
	if err != nil {
		return fail("client: %v", err)
	}
	if *cf.port <= 0 || *cf.caFile == "" || *cf.outDir == "" || len(paths) == 0 {
		return fail("client: --port, --ca, --out and at least one PATH are required")
	}
	roots, err := cf.prepare()
	if err != nil {
		return fail("client: %v", err)
	}
	remote, err := net.ResolveUDPAddr("udp", cf.addr())
	if err != nil {
		return fail("client: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	watchdog(timeout)

	c := &client{
		remote:  remote,
		tlsConf: cf.tlsConfig(roots, alpn),
		conf: &quic.Config{
			HandshakeIdleTimeout: 10 * time.Second,
			MaxIdleTimeout:       30 * time.Second,
			// Address-validation tokens from NEW_TOKEN let a second
			// connection skip a Retry, like a browser would.
			TokenStore: quic.NewLRUTokenStore(4, 4),
		},
		outDir:  *cf.outDir,
		migrate: *migrate,
	}
	defer c.closeTransports()
	if *resume || *zeroRTT {
		// quic-go stores its transport parameters alongside the TLS ticket
		// in this cache, which is what makes 0-RTT possible later.
		c.tlsConf.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	}
	// Tracing costs CPU on every packet, so observe only when a result line
	// depends on it.
	if *keyUpdate || *zeroRTT {
		c.conf.Tracer = withQlogDir(c.observeTracer)
	} else {
		c.conf.Tracer = withQlogDir(nil)
	}

	var runErr error
	if *resume || *zeroRTT {
		runErr = c.runResumed(ctx, paths, *zeroRTT)
	} else {
		runErr = c.runOne(ctx, paths)
	}
	if *keyUpdate {
		// quic-go has no call to start a key update on demand, but it
		// initiates one by itself 100 packets after the handshake is
		// confirmed; the qlog trace tells whether that happened.
		say("KEY_UPDATE %t", c.localKeyUpdate.Load())
		if c.remoteKeyUpdate.Load() {
			logf("client: the server updated keys too")
		}
	}
	if runErr != nil {
		// Stream deadlines are set to the same instant as ctx's, and may fire first.
		if ctx.Err() != nil || errors.Is(runErr, os.ErrDeadlineExceeded) {
			return fail("timeout after %v: %v", timeout, runErr)
		}
		return fail("%v", runErr)
	}
	return 0
}

// runOne downloads every path concurrently on a single connection.
func (c *client) runOne(ctx context.Context, paths []string) error {
	conn, err := c.dial(ctx, false)
	if err != nil {
		return fmt.Errorf("connecting: %w", err)
	}
	defer conn.CloseWithError(0, "")
	return c.downloadAll(ctx, conn, paths, c.migrate)
}

// runResumed downloads the first path on connection 1, then the rest on
// connection 2, which resumes connection 1's session (and with zeroRTT sends
// its requests as early data).
func (c *client) runResumed(ctx context.Context, paths []string, zeroRTT bool) error {
	conn1, err := c.dial(ctx, false)
	if err != nil {
		return fmt.Errorf("connection 1: %w", err)
	}
	err = c.downloadAll(ctx, conn1, paths[:1], false)
	conn1.CloseWithError(0, "")
	if err != nil {
		return fmt.Errorf("connection 1: %w", err)
	}

	conn2, err := c.dial(ctx, zeroRTT)
	if err != nil {
		return fmt.Errorf("connection 2: %w", err)
	}
	defer conn2.CloseWithError(0, "")
	// With DialEarly these requests leave in 0-RTT packets when a ticket
	// allowing early data is cached; the handshake is not awaited first.
	dlErr := c.downloadAll(ctx, conn2, paths[1:], c.migrate)
	if zeroRTT && errors.Is(dlErr, quic.Err0RTTRejected) {
		// The server refused the early data: everything sent in it is void,
		// so wait for the handshake and ask again on 1-RTT.
		logf("client: 0-RTT rejected, retrying the requests after the handshake")
		if conn2, err = conn2.NextConnection(ctx); err != nil {
			return fmt.Errorf("connection 2 after 0-RTT rejection: %w", err)
		}
		dlErr = c.downloadAll(ctx, conn2, paths[1:], c.migrate)
	}
	// Resumption and 0-RTT outcomes are final only once the handshake is.
	select {
	case <-conn2.HandshakeComplete():
		st := conn2.ConnectionState()
		say("RESUMED %t", st.TLS.DidResume)
		if zeroRTT {
			if !st.Used0RTT && c.sent0RTT.Load() == 0 {
				logf("client: no 0-RTT packet was sent: the session ticket did not allow early data")
			}
			say("ZERO_RTT %s", map[bool]string{true: "accepted", false: "rejected"}[st.Used0RTT])
		}
	case <-conn2.Context().Done():
		return fmt.Errorf("connection 2: %w", context.Cause(conn2.Context()))
	case <-ctx.Done():
		return fmt.Errorf("connection 2: handshake: %w", ctx.Err())
	}
	if dlErr != nil {
		return fmt.Errorf("connection 2: %w", dlErr)
	}
	return nil
}

// dial opens a connection from a fresh UDP socket of its own, bound to
// loopback when the server is on loopback so nothing leaves the host.
func (c *client) dial(ctx context.Context, early bool) (*quic.Conn, error) {
	tr, err := c.newTransport()
	if err != nil {
		return nil, err
	}
	if early {
		return tr.DialEarly(ctx, c.remote, c.tlsConf, c.conf)
	}
	return tr.Dial(ctx, c.remote, c.tlsConf, c.conf)
}

func (c *client) newTransport() (*quic.Transport, error) {
	local := &net.UDPAddr{}
	if c.remote.IP.IsLoopback() {
		local.IP = c.remote.IP
	}
	udp, err := net.ListenUDP("udp", local)
	if err != nil {
		return nil, fmt.Errorf("binding a UDP socket: %w", err)
	}
	tr := &quic.Transport{Conn: udp}
	c.mu.Lock()
	c.transports = append(c.transports, tr)
	c.mu.Unlock()
	return tr, nil
}

func (c *client) closeTransports() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, tr := range c.transports {
		tr.Close()
	}
}

// downloadAll fetches every path on its own stream, all at once, and returns
// the first error (an Err0RTTRejected one if any, so the caller can retry).
func (c *client) downloadAll(ctx context.Context, conn *quic.Conn, paths []string, migrate bool) error {
	var m *migration
	if migrate {
		m = &migration{done: make(chan struct{})}
	}
	errs := make([]error, len(paths))
	var wg sync.WaitGroup
	for i, p := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.fetch(ctx, conn, p, m)
		}()
	}
	wg.Wait()
	if m != nil {
		// With empty or tiny files no byte may have waited on the gate;
		// migrate anyway so the result line is always meaningful.
		m.trigger(ctx, c, conn)
		say("MIGRATED %t", m.ok.Load())
	}
	var first error
	for i, err := range errs {
		if err == nil {
			continue
		}
		if errors.Is(err, quic.Err0RTTRejected) {
			return err
		}
		if first == nil {
			first = fmt.Errorf("%s: %w", paths[i], err)
		}
	}
	return first
}

// fetch sends "GET /path\r\n" with FIN and saves the answer as outDir/basename.
// A partial file is removed so it cannot be mistaken for a download.
func (c *client) fetch(ctx context.Context, conn *quic.Conn, p string, m *migration) (err error) {
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	name := path.Base(p)
	if name == "/" || name == "." {
		return fmt.Errorf("path %q has no file name", p)
	}
	// Blocks until the server's MAX_STREAMS allows another stream.
	str, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return err
	}
	// Stream I/O does not take a context; a deadline ties it to --timeout.
	if dl, ok := ctx.Deadline(); ok {
		str.SetDeadline(dl)
	}
	if _, err := io.WriteString(str, "GET "+p+"\r\n"); err != nil {
		return err
	}
	if err := str.Close(); err != nil { // FIN: the request is complete
		return err
	}
	dst := filepath.Join(c.outDir, name)
	f, err := os.Create(dst)
	if err != nil {
		str.CancelRead(0)
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(dst)
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		n, rerr := str.Read(buf)
		if n > 0 {
			if _, err := f.Write(buf[:n]); err != nil {
				str.CancelRead(0)
				return err
			}
			if m != nil {
				// Hold this stream until the move is over, so the rest of
				// the transfer really happens on the new path.
				m.trigger(ctx, c, conn)
			}
		}
		if errors.Is(rerr, io.EOF) {
			return nil
		}
		if rerr != nil {
			var se *quic.StreamError
			if errors.As(rerr, &se) && se.Remote {
				return fmt.Errorf("stream reset by the server with code %d", se.ErrorCode)
			}
			return rerr
		}
	}
}

// migration moves one connection to a new local port, once, the first time a
// response byte arrives; later callers wait for it to finish.
type migration struct {
	once sync.Once
	done chan struct{}
	ok   atomic.Bool // read by waiters that may give up on ctx first
}

func (m *migration) trigger(ctx context.Context, c *client, conn *quic.Conn) {
	m.once.Do(func() {
		go func() {
			defer close(m.done)
			if err := c.migrateConn(ctx, conn); err != nil {
				logf("client: migration failed: %v", err)
				return
			}
			m.ok.Store(true)
		}()
	})
	select {
	case <-m.done:
	case <-ctx.Done():
	}
}

// migrateConn opens a new UDP socket, validates the path from it with
// PATH_CHALLENGE, and switches the connection onto it.
func (c *client) migrateConn(ctx context.Context, conn *quic.Conn) error {
	before := conn.LocalAddr()
	tr, err := c.newTransport()
	if err != nil {
		return err
	}
	p, err := conn.AddPath(tr)
	if err != nil {
		return fmt.Errorf("AddPath: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	if err := p.Probe(pctx); err != nil {
		p.Close()
		return fmt.Errorf("probing the new path: %w", err)
	}
	if err := p.Switch(); err != nil {
		p.Close()
		return fmt.Errorf("switching to the new path: %w", err)
	}
	logf("client: migrated from %v to %v", before, tr.Conn.LocalAddr())
	return nil
}
