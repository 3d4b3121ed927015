package main

import (
	"fmt"

	"github.com/exectrail/exectrail/cmd/exectrail/internal/cli"
	"github.com/exectrail/exectrail/cmd/exectrail/internal/otlp"
	"github.com/exectrail/exectrail/supervisor"
	"github.com/exectrail/exectrail/supervisor/record"
)

// runOTLP is --otlp URL: every record also goes to an OpenTelemetry
// Collector (internal/otlp), after it was written locally. A nil
// *runOTLP does nothing.
type runOTLP struct {
	exp *otlp.Exporter
}

func newRunOTLP(url string, opt *options) (*runOTLP, error) {
	if url == "" {
		return nil, nil
	}
	exp, err := otlp.Start(otlp.Options{
		Endpoint: url,
		Version:  buildVersion(),
		Backend:  string(opt.backend),
		Command:  opt.argv,
		RunID:    opt.trail.runID,
		OnError: func(err error) {
			// The Collector being down or slow is not the job's
			// problem; the counts at the end say what it missed.
			opt.log.Debug().Err(err).Msg("otlp export")
		},
	})
	if err != nil {
		return nil, fmt.Errorf("--otlp: %w", err)
	}
	return &runOTLP{exp: exp}, nil
}

func (o *runOTLP) attach(w *supervisor.Writer) {
	if o == nil {
		return
	}
	w.AddObserver(o.exp.Observe)
}

// flush exports what was written so far, for the end record's counts.
func (o *runOTLP) flush() *record.ExportCounts {
	if o == nil {
		return nil
	}
	s := o.exp.Flush()
	return &record.ExportCounts{Exported: s.Exported, NotExported: s.NotExported()}
}

// finish flushes (bounded by otlp.DefaultTimeout) and says on stderr how
// much reached the Collector.
func (o *runOTLP) finish() {
	if o == nil {
		return
	}
	s := o.exp.Close()
	cli.Notef("otlp: %d of %d records exported (%d not), %d of %d spans",
		s.Exported, s.Records, s.NotExported(), s.SpansDone, s.Spans)
}
