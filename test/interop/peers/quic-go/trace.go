package main

import (
	"context"
	"os"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/qlog"
	"github.com/quic-go/quic-go/qlogwriter"
)

type tracerFunc = func(context.Context, bool, quic.ConnectionID) qlogwriter.Trace

// withQlogDir adds quic-go's own qlog files (one per connection, in $QLOGDIR)
// to an optional tracer of ours, so a failing interop case can be read back.
// Without QLOGDIR it returns the tracer unchanged: tracing costs CPU.
func withQlogDir(ours tracerFunc) tracerFunc {
	if os.Getenv("QLOGDIR") == "" {
		return ours
	}
	return func(ctx context.Context, isClient bool, id quic.ConnectionID) qlogwriter.Trace {
		var traces teeTrace
		if t := qlog.DefaultConnectionTracer(ctx, isClient, id); t != nil {
			traces = append(traces, t)
		}
		if ours != nil {
			if t := ours(ctx, isClient, id); t != nil {
				traces = append(traces, t)
			}
		}
		return traces
	}
}

// teeTrace hands every event to several traces.
type teeTrace []qlogwriter.Trace

func (t teeTrace) AddProducer() qlogwriter.Recorder {
	rs := make(teeRecorder, len(t))
	for i, tr := range t {
		rs[i] = tr.AddProducer()
	}
	return rs
}

type teeRecorder []qlogwriter.Recorder

func (rs teeRecorder) RecordEvent(ev qlogwriter.Event) {
	for _, r := range rs {
		r.RecordEvent(ev)
	}
}

func (rs teeRecorder) Close() error {
	var first error
	for _, r := range rs {
		if err := r.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// observeTracer keeps no log, only what the result lines need that quic-go's
// API does not say: whether 1-RTT keys were updated and by whom (quic-go has
// no call to start a key update), and whether 0-RTT packets were sent at all
// (Used0RTT is false both when the server refused them and when the ticket
// did not allow early data, so nothing was offered).
func (c *client) observeTracer(context.Context, bool, quic.ConnectionID) qlogwriter.Trace {
	return observeTrace{c}
}

type observeTrace struct{ c *client }

func (t observeTrace) AddProducer() qlogwriter.Recorder { return observeRecorder(t) }

type observeRecorder struct{ c *client }

func (r observeRecorder) RecordEvent(ev qlogwriter.Event) {
	switch ev := ev.(type) {
	case qlog.KeyUpdated:
		switch ev.Trigger {
		case qlog.KeyUpdateLocal:
			r.c.localKeyUpdate.Store(true)
		case qlog.KeyUpdateRemote:
			r.c.remoteKeyUpdate.Store(true)
		}
	case qlog.PacketSent:
		if ev.Header.PacketType == qlog.PacketType0RTT {
			r.c.sent0RTT.Add(1)
		}
	}
}

func (r observeRecorder) Close() error { return nil }
