// Package record is the exec record itself: the Record type, the field
// names of its JSON lines (the contract of SPEC.md, written down once, in
// fields.go), its encodings — JSON lines (AppendJSON), the aligned text
// line for people (AppendText) and Elastic Common Schema documents (ECS)
// — and the small helpers every writer
// and reader of records shares: JSON string quoting (AppendJSONString),
// what prints on a terminal (Printable, AppendPrintable), an argument
// shown as a word (AppendWord), a device number (AppendDev).
//
// The supervisor fills Records and writes them (supervisor.Writer adds
// the seq, the trail, redaction and the folding of PATH misses around
// these encodings); the log readers under cmd/exectrail/internal (report,
// verify, runlog, cast) and the tests read records back by these names.
//
// The JSON encoder is a plain appender, not zerolog's event builder (which
// wrote records before, and remains the supervisor's logger). It writes
// the same bytes — TestAppendJSONMatchesZerolog in package supervisor
// checks that on records of every kind with every field, non-UTF-8,
// control bytes and a 100,000-element argv, and a fuzz target keeps
// checking it — and it allocates nothing. Measured on the shared 2-vCPU
// VM (Intel Xeon, load average 20 to 30), as CPU time per record over
// 400,000 records, median of 5 alternating runs, because wall time there
// moved by 3x between runs: encoding the exec record of BenchmarkWriteJSON
// 1.11 µs and 10 allocations with zerolog, 0.72 µs and none with
// AppendJSON (BenchmarkEncodeJSON); the whole Writer.Write of it
// (BenchmarkWriteJSON) 1.90 µs and 10 allocations before, 1.73 µs and 2
// (the benchmark's own record) after.
//
// The ECS encoder lives here too, although it keeps state (the process
// instance each pid names, for entity ids): that state is a pure function
// of the records it has seen, and all it needs from the system — the
// host's name, kernel and architecture — the caller hands it (ECSHost).
// It writes what the zerolog ECS encoder before it wrote
// (TestECSMatchesZerolog), with 2 allocations per BenchmarkWriteECS
// record instead of 25.
//
// It must import nothing outside the standard library, and it must not
// know about backends, /proc, seccomp or zerolog: it is what a record is
// and how it is spelled, not how one is made or where it goes.
package record
