package main

// Helpers that the hq-interop (client.go, server.go) and HTTP/3 (h3.go) sides share.

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"
)

// serverFlags are the server options of the driver contract.
type serverFlags struct {
	host, certFile, keyFile, root *string
	port                          *int
	timeoutSec                    *float64
}

func addServerFlags(fs *flag.FlagSet) serverFlags {
	return serverFlags{
		host:       fs.String("host", "127.0.0.1", "address to bind"),
		port:       fs.Int("port", 0, "UDP port (0: any free port, printed on READY)"),
		certFile:   fs.String("cert", "", "certificate chain (PEM)"),
		keyFile:    fs.String("key", "", "private key (PEM)"),
		root:       fs.String("root", "", "directory to serve"),
		timeoutSec: fs.Float64("timeout", 120, "exit after this many seconds"),
	}
}

// parse parses args (no positional ones) and checks the required options;
// errors are ready for fail("<mode>: %v", err).
func (f serverFlags) parse(fs *flag.FlagSet, args []string) (time.Duration, error) {
	if rest, err := parseInterspersed(fs, args); err != nil {
		return 0, err
	} else if len(rest) > 0 {
		return 0, fmt.Errorf("unexpected arguments %q", rest)
	}
	timeout, err := seconds(*f.timeoutSec)
	if err != nil {
		return 0, err
	}
	if *f.certFile == "" || *f.keyFile == "" || *f.root == "" {
		return 0, fmt.Errorf("--cert, --key and --root are required")
	}
	return timeout, nil
}

// loadCert loads the --cert/--key pair.
func (f serverFlags) loadCert() (tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(*f.certFile, *f.keyFile)
	if err != nil {
		return cert, fmt.Errorf("loading certificate: %v", err)
	}
	return cert, nil
}

// listen binds the UDP socket on --host/--port.
func (f serverFlags) listen() (*net.UDPConn, error) {
	laddr, err := net.ResolveUDPAddr("udp", net.JoinHostPort(*f.host, fmt.Sprint(*f.port)))
	if err != nil {
		return nil, err
	}
	udp, err := net.ListenUDP("udp", laddr)
	if err != nil {
		return nil, fmt.Errorf("listen: %v", err)
	}
	return udp, nil
}

// clientFlags are the client options of the driver contract.
type clientFlags struct {
	host, caFile, serverName, outDir *string
	port                             *int
	timeoutSec                       *float64
}

func addClientFlags(fs *flag.FlagSet) clientFlags {
	return clientFlags{
		host:       fs.String("host", "127.0.0.1", "server address"),
		port:       fs.Int("port", 0, "server UDP port"),
		caFile:     fs.String("ca", "", "CA certificate to verify the server against (PEM)"),
		serverName: fs.String("server-name", "localhost", "TLS server name"),
		outDir:     fs.String("out", "", "directory to save files into"),
		timeoutSec: fs.Float64("timeout", 120, "give up after this many seconds"),
	}
}

// parse parses args; the positional ones (PATHs) and --timeout.
func (f clientFlags) parse(fs *flag.FlagSet, args []string) ([]string, time.Duration, error) {
	paths, err := parseInterspersed(fs, args)
	if err != nil {
		return nil, 0, err
	}
	timeout, err := seconds(*f.timeoutSec)
	return paths, timeout, err
}

// addr is --host:--port.
func (f clientFlags) addr() string { return net.JoinHostPort(*f.host, fmt.Sprint(*f.port)) }

// prepare creates --out and loads --ca; errors are ready for fail("<mode>: %v", err).
func (f clientFlags) prepare() (*x509.CertPool, error) {
	if err := os.MkdirAll(*f.outDir, 0o755); err != nil {
		return nil, fmt.Errorf("--out: %v", err)
	}
	pem, err := os.ReadFile(*f.caFile)
	if err != nil {
		return nil, fmt.Errorf("--ca: %v", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--ca %s holds no PEM certificate", *f.caFile)
	}
	return roots, nil
}

// tlsConfig is the client's TLS 1.3 configuration for ALPN proto.
func (f clientFlags) tlsConfig(roots *x509.CertPool, proto string) *tls.Config {
	return &tls.Config{
		RootCAs:    roots,
		ServerName: *f.serverName,
		NextProtos: []string{proto},
		MinVersion: tls.VersionTLS13,
	}
}

// watchdog is the last resort: if something ignores the context, still
// honour --timeout.
func watchdog(timeout time.Duration) {
	time.AfterFunc(timeout+5*time.Second, func() {
		say("ERROR timeout: still running %v after --timeout", 5*time.Second)
		os.Exit(1)
	})
}

// openUnder opens the regular file that request path p names under root.
// Cleaning "/"+p removes any "..", so the result cannot escape root.
func openUnder(root, p string) (*os.File, os.FileInfo, error) {
	full := filepath.Join(root, filepath.FromSlash(filepath.Clean("/"+p)))
	f, err := os.Open(full)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%s is not a regular file", full)
	}
	return f, st, nil
}
