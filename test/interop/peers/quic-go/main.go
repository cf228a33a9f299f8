// Command quicgo-peer drives quic-go (from the Go module proxy) for the
// quichex interop matrix. It follows the server/client contract in
// test/interop/README.md: hq-interop over ALPN "hq-interop", a READY line
// from the server, result lines and ERROR/exit codes from the client.
//
//	quicgo-peer server --host H --port P --cert CERT --key KEY --root DIR [--retry] [--timeout SEC]
//	quicgo-peer client --host H --port P --ca CA --server-name NAME --out DIR [--timeout SEC]
//	                   [--resume] [--zero-rtt] [--migrate] [--key-update] [--max-streams-wait] PATH...
//	quicgo-peer h3-server --host H --port P --cert CERT --key KEY --root DIR [--timeout SEC]
//	quicgo-peer h3-client --host H --port P --ca CA --server-name NAME --out DIR [--timeout SEC]
//	                      [--post FILE] [--cancel] PATH...
//
// The h3-* subcommands speak HTTP/3 (ALPN "h3") through quic-go's http3
// package (h3.go).
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

const alpn = "hq-interop"

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "server":
		os.Exit(runServer(os.Args[2:]))
	case "client":
		os.Exit(runClient(os.Args[2:]))
	case "h3-server":
		os.Exit(runH3Server(os.Args[2:]))
	case "h3-client":
		os.Exit(runH3Client(os.Args[2:]))
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: quicgo-peer server|client|h3-server|h3-client [flags] (see test/interop/README.md)")
	fmt.Println("ERROR usage: expected subcommand server or client")
	os.Exit(1)
}

// parseInterspersed parses flags wherever they appear: Go's flag package stops
// at the first positional argument, but the runner may put PATHs before flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported as one ERROR line instead
	return fs
}

// seconds converts a --timeout value, refusing the non-positive values that
// would make a wait unbounded or instant.
func seconds(v float64) (time.Duration, error) {
	if v <= 0 {
		return 0, fmt.Errorf("--timeout must be > 0, got %v", v)
	}
	return time.Duration(v * float64(time.Second)), nil
}

// fail prints the contract's single ERROR line (newlines would break the
// runner's line parsing) and returns exit status 1.
func fail(format string, a ...any) int {
	msg := strings.Join(strings.Fields(fmt.Sprintf(format, a...)), " ")
	fmt.Printf("ERROR %s\n", msg)
	return 1
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "quicgo-peer: "+format+"\n", a...)
}
