// Package otlp sends a run's records to an OpenTelemetry Collector over
// OTLP/HTTP (protobuf), with the official OpenTelemetry Go SDK: every
// record as a log record, and the job as one trace with a span per
// process (exectrail run --otlp).
//
// The local record output stays the source of truth. This package only
// observes records after the Writer wrote them: Observe copies what it
// needs into a bounded queue and never blocks, so a traced call is never
// held for the network; a full queue drops the record from the export
// (counted, never from the local log). Close drains what is queued, ends
// the spans still open and flushes within a deadline, then says how many
// records were exported and how many were not.
//
// It must not import the supervisor's loops or touch the job: it sees
// only record.Record values.
package otlp
