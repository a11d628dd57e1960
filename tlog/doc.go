// Package tlog is linewatch's tamper-evident log: every record the engine
// consumes is a leaf of an RFC 6962 Merkle tree, in consumption order,
// written as C2SP tlog-tiles (hash tiles and entry bundles, height 8) with
// C2SP tlog-checkpoint checkpoints signed by the log's key and cosigned by
// witnesses (c2sp.org/tlog-cosignature). The hashing and proofs are
// golang.org/x/mod/sumdb/tlog's; the notes golang.org/x/mod/sumdb/note's.
// docs/log.md specifies the entries, the paths and the alerts' "log"
// member.
//
// # Writing
//
// An Entry is a record as consumed, with the time it was stored, its
// broker sequence, its authenticated source and, for a signed source, the
// body it was cut from. Entry.Leaf encodes and hashes it and touches
// nothing shared, so an engine's workers call it in parallel; Writer.Append
// takes the leaves in consumption order. An engine's workers rather frame
// each entry as a bundle holds it (Entry.AppendFramed) into a buffer of
// their batch and hash it there (LeafHasher), and the engine appends a
// run of them at a time (Writer.AppendFramed): one copy of each entry
// into its bundle, and one lock a run.
//
//	w, err := tlog.NewWriter(ctx, tlog.WriterConfig{Storage: st, Origin: origin,
//		Signer: logKey, Verifier: logPub, Size: cp.LogSize, Root: &cp.LogRoot})
//	w.AddBody(sum, body, signedNote)   // once per signed body, before its records
//	leaf, _ := entry.Leaf()            // on a worker
//	idx, err := w.Append(ctx, leaf)    // in consumption order; idx is the leaf index
//	first, err := w.AppendFramed(ctx, framed, hashes) // or a run of framed entries
//	tree := w.Tree()                   // the head an alert made now was made under
//	tree, err = w.Checkpoint(ctx)      // durable, then signed and published
//
// Storage is where the log's objects go: a directory (Dir; an engine's,
// NewPackDir, appends its full tiles, bundles and signed bodies to one pack file),
// memory (Mem), or anything with Get, Put, Delete and Sync, such as a
// JetStream object store. Tiles and bundles are written by a goroutine of the Writer's, off
// the caller's path; Checkpoint waits for them, syncs, then publishes. A
// Writer resumed at the engine's checkpoint (WriterConfig.Size) checks each
// entry it is given again against the log's, and refuses to fork
// (ErrDiverged).
//
// # Reading
//
// A Reader reads a log through a Fetcher — a directory, a Storage, or
// HTTP GETs under a URL prefix (Open) — and checks what it reads against a
// checkpoint: tiles through x/mod's TileHashReader, bodies and long
// records by their SHA-256. Export copies a log's latest tree into a
// static directory; Handler serves a log over HTTP and takes witnesses'
// cosignatures.
package tlog
