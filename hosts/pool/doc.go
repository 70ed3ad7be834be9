// Package pool spreads flow runs over many machines through a work pool on
// NATS JetStream: an existing distributed engine with durable streams,
// work-queue consumers, acks and redelivery, and an object store.
//
// A pool NAME is, on one NATS server or cluster:
//
//   - the work stream WEIR_POOL_<NAME>_WORK (subjects weir.pool.NAME.work.JOB),
//     with work-queue retention and one durable pull consumer, "workers",
//     shared by every worker: a message is one line of a batch, removed once
//     a worker acks it, delivered again when its worker dies before that;
//   - the results stream WEIR_POOL_<NAME>_RESULTS (subjects
//     weir.pool.NAME.results.JOB.LINE): a line's result, published with a
//     message id, so that the record keeps each line once;
//   - the dead-letter stream WEIR_POOL_<NAME>_DEAD, which keeps the
//     server's advisories of lines delivered max-deliver times without an
//     ack: each becomes a failed result naming why;
//   - the key-value bucket WEIR_POOL_<NAME>: the pool's settings and each
//     worker's heartbeat;
//   - the object store WEIR_POOL_<NAME>_BUNDLES: the bundles lines run,
//     stored once by digest and verified by it when a worker fetches one;
//   - the subject weir.pool.NAME.run, answered by a queue group of workers,
//     for single runs (weir submit, weir serve --pool).
//
// Workers (NewWorker) pull lines, keep one loaded flow per bundle, run each
// line as the submitter's batch would (engine.Flow.RunLine), publish its
// result and then ack. A batch (NewBatch) publishes its lines and collects
// their results into an engine batch through engine.BatchOptions.Remote, so
// that the run record, the summary and the aggregate nodes are those of a
// local batch.
package pool
