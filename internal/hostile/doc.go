// Package hostile holds linewatch's regression suite for hostile input:
// tests that run the linewatch command, built from this module, on inputs
// they generate — a gigabyte of blank lines in a megabyte of gzip,
// unclosed arrays, features nested past the decoder's limit, another
// source's ids, times out of range, degenerate lines and policies, output
// files that are inputs, requests to the streaming service without their
// credentials — each under a bound of time and of memory (peak resident
// set size), and check what the command promises: its exit status, one
// clear line on standard error and no stack trace, every record
// accounted for (read = accepted + rejected + duplicate + late, and
// outside with --since/--until), and no input overwritten.
//
// The suite holds tests only; it talks to linewatch through its command
// line and HTTP endpoints, never its packages, so that it holds whatever
// their insides become. It runs with the other tests (go test ./...), in
// well under a minute; go test -short skips it. LINEWATCH_BIN names a
// binary to test instead of building one; scripts/hostile runs the suite
// alone, printing each case's time and memory.
package hostile
