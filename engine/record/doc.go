// Package record keeps the run record of weir batches: an index of runs in
// SQLite and a folder of plain files per run, readable without weir.
//
// A record lives in one folder (DefaultDir, or any other):
//
//	weir.db                  the index: one row per run (id, kind, flow,
//	                         dataset, status, counts, times); SQLite in WAL
//	                         mode
//	weir.lock                locked (flock) while a process opens the record
//	runs/<id>/               one folder per run:
//	  flow/<file>            snapshot of the flow file as it was run, its
//	  flow/<sub>/<file>        sub-flows at their path relative to it, and
//	  flow/_outside/<file>     those outside its folder by base name
//	  flow/manifest.json     each snapshot's original path and SHA-256
//	  inputs.jsonl           {"line":N,"inputs":{...}} per line that has inputs
//	  nodes.jsonl            {"line":N,"nodes":[{"node":"greet","tool":"text.greet",
//	                         "status":"succeeded","attempts":1,"start_ms":0.05,
//	                         "duration_ms":0.123}]}, the nodes in flow order;
//	                         "start_ms" is from the line's start to the node's
//	                         first attempt (absent for a node that never
//	                         started); "error" the failed node's error text,
//	                         "usage" what its calls cost, "cached":true for
//	                         outputs from the node cache; and when the line's
//	                         values were kept (see below) "inputs":{...}, the
//	                         object the tool got, "outputs":{...}, and "logs":
//	                         [{"time","level","message","attrs"}], the lines
//	                         its tool logged (engine.LogLine)
//	  outputs.jsonl          one line per dataset line run:
//	                         {"line":N,"status":"succeeded","duration_ms":1.5,
//	                          "started":"2026-12-03T15:04:05.678Z","outputs":{...}}
//	                         {"line":N,"status":"failed","duration_ms":2,"error":"...",
//	                          "error_kind":"tool"} (input, tool or timeout: see
//	                         engine.FailureKind)
//	                         with "aggregate":{...} for the flow's aggregate nodes,
//	                         "trace_id":"<32 hex digits>" when the engine traced
//	                         the line's run
//	  metrics.json           written when the run finishes: counts, latencies,
//	                         per-node statistics, aggregate outputs, and the
//	                         metrics they logged ("metrics":{"accuracy":0.67})
//	  log.txt                timestamped lines: start, what the caller logged, end
//	  lock                   locked (flock) by the process running the batch
//
// Fields added since the first record ("error_kind", "started",
// "trace_id", "start_ms", a node's "inputs", "outputs" and "logs") are absent from
// records of older weirs, and readers take them as unknown.
//
// # Kinds of run and node values
//
// A run is of a kind (Meta.Kind, Info.Kind): a batch (weir batch), one run
// (weir run --record, a single line 1) or the requests a server served
// (weir serve --record, a line per request). The values each node got and
// returned are big, so a run keeps them only where they explain something:
// for a batch, those of its failed lines unless asked for every line
// (StartBatch, weir batch --node-values all); for a single run or a
// served request, always.
// They are redacted as everything the engine returns is (engine.Redactor):
// a secret's value is never written. Store.Line reads one line with its
// nodes, for an inspector.
//
// Store.StartLines keeps runs made one at a time, outside any batch, as
// the lines of one run (Lines): weir run --record and weir serve --record
// use it.
//
// Store.BaseRun reads a finished run's lines for a batch whose mapping reads
// ${run.outputs.x} (Meta.BaseRun).
//
// Store.StartBatch runs a batch of the engine into a new run, writing each
// line as it ends and finishing the run when the batch does: weir batch is
// that and a progress bar. Create, Write, Flush and Finish are its parts,
// for a caller that gets its lines elsewhere.
//
// # Crash safety
//
// outputs.jsonl is the commit record: a dataset line is done if and only if
// its line is there. A Run buffers the three JSONL files in memory and writes
// them out in the order inputs, nodes, outputs, so that a process killed at
// any moment never leaves an outputs line whose details are missing; Flush
// also syncs the details to disk before the outputs. A last outputs line
// without its newline was torn by the kill and counts as not done.
//
// The process running a batch holds the run's lock until Finish. A run the
// index says is running but whose lock is free was interrupted (the process
// was killed, the machine lost power): reading it marks it failed, and a new
// batch can resume it (Store.Completed). Reading never changes a run's files
// other than adding that line to its log.
//
// Several processes may use one record at once: SQLite serializes the
// writes (with a busy timeout, not "database is locked" errors) and each run
// folder has a single writer.
package record
