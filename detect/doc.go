// Package detect is linewatch's engine: it judges sightings against the
// agreed line (Judge), sums violations into cells per party, sector and
// event-time window, joins hot cells into episodes and classifies them.
// It reads no files, sockets or clocks: time comes from the data.
//
// Two drivers run it. Batch hands it every record at once (Judge.Prepare
// on all cores, then Judge.PairSet for track points and Aggregate); Stream
// takes one record at a time and a watermark (Stream.Add, Stream.Advance).
// Every decision — Prepare, JudgeTrackPoint, the cells, joining, the
// figures and the class — is the same code in both; docs/engine.md says
// where the drivers differ and why.
package detect
