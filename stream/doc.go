// Package stream is the streaming driver of the detection engine (SPEC §6):
// it reads sightings as they come — from standard input, from a NATS
// JetStream stream, or over HTTP into JetStream — and turns them into
// alerts as the watermark passes, with durable state so that a process
// killed at any moment resumes exactly where its last checkpoint left off.
//
// # The pipeline
//
//	Source ──batches──► workers (decode + Prepare + leaf, any order) ──► Driver (one goroutine, input order)
//	                                                                       │ log Append, then Stream.Add + Advance per record
//	                                                                       ├──► tamper-evident log (tlog.Writer: tiles, checkpoints)
//	                                                                       ├──► AlertSink (file, stdout, JetStream)
//	                                                                       ├──► rejects Log
//	                                                                       └──► Store (checkpoint, bbolt or a JetStream bucket)
//
// A Source cuts its input into batches of records. Workers decode and
// prepare the records of a batch on all cores (detect.Judge.Prepare is
// stateless); the Driver takes the batches back in input order and offers
// each record to the engine (detect.Stream), calling Advance after every
// record, so that the alerts are a function of the record sequence alone.
// That is what makes a restart exact: the checkpoint holds the engine's
// state after record N of the JetStream stream, the byte length of the
// output and rejects files at that point and the counters; a restart cuts
// the files back to those lengths, restores the engine and consumes again
// from record N+1, so it writes the very bytes an uninterrupted run would
// have written.
//
// # The log
//
// With Config.Log the driver keeps the tamper-evident log (package tlog,
// docs/log.md): each record, with where it came from (RecordMeta), is a
// leaf, hashed on the workers and appended in input order before the
// engine sees it, whatever the engine then makes of it; its leaf index
// goes with its violation, so each alert names, besides the tree it was
// made under, the leaf of each evidence id (its "log" member). A batch's
// alerts are written once a signed checkpoint of the log covers them. The
// log lives in a directory of the state (tlog.Dir) or, for a group, in
// JetStream (JetStreamLog); LogConfig.Handler serves it over HTTP.
//
// # Durability
//
// The order of a checkpoint is: flush and fsync the output (or wait for
// JetStream to acknowledge the alerts published), publish the log's
// checkpoint (its tiles and entries synced first), write the checkpoint —
// which records the log's size and root — in one bbolt transaction, then
// acknowledge the consumed messages to JetStream (AckAll). The durable
// consumer is recreated on every start at the checkpoint's sequence + 1,
// so the position never depends on acks; the log is reopened at the
// checkpoint's size, and checks the entries consumed again against those
// it holds past it.
//
// # Doors and limits
//
// The embedded NATS server (StartBroker) is reached in the process only
// unless BrokerConfig.Listen asks for a listener, which then lets in only
// the clients holding its user nkey (generated into the state directory
// with mode 0600 if none is given) and speaks TLS when given a
// certificate. A NATSSource stops with an error when its stream or
// consumer is deleted, replaced, paused or changed under it, or records
// it had not consumed are removed. The HTTP ingest charges every request
// to a memory budget (IngestConfig.MaxInFlight; 503 beyond it) and Serve
// keeps at most MaxConns connections. When the embedded JetStream cannot
// write (the disk is full) the ingest refuses at once and the server is
// restarted once there is space; when the driver cannot write,
// RunResuming resumes from the last checkpoint once there is space.
// Metrics.SetProblem records each of these for /healthz, which answers
// 503 while any lasts.
//
// # A group on a NATS cluster
//
// On a NATS cluster the state lives in JetStream rather than on one disk:
// the checkpoint in a key-value bucket (KVStore), the alerts and rejected
// records in streams (NATSSink, NATSLog), every stream and bucket with
// replicas. RunGroup runs one engine of a group of identical ones: a
// key-value lease with a per-key TTL (Lease) makes one active; it claims
// the checkpoint with a revision-checked write and resumes after it, the
// others wait and take over when the lease expires. Every write of the
// checkpoint, the alerts and the rejects is conditional (on the head's
// revision, on the stream's last message id), so an engine that lost its
// lease without knowing cannot overwrite what the active one wrote
// (ErrFenced), and a takeover neither loses nor repeats an alert.
//
// # Future records
//
// A record more than the policy's max_future ahead of "now" is rejected
// with reason "future". For standard input "now" is the wall clock when the
// record is read; for a record consumed from JetStream it is the time
// JetStream stored it, so that a replay after a restart judges it the
// same way; the HTTP ingest rejects such records before storing them.
package stream
