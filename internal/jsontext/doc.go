// Package jsontext is linewatch's one toolkit for JSON text held as bytes,
// for the places that work on a record's text rather than decode it: they
// splice properties into it (stream, locate), canonicalise it (feed), or
// read linewatch's own output back (output, importer).
//
// It walks text already checked (by feed's decoder) or written by
// linewatch: SkipValue finds where a value ends, Members and Elements
// visit an object's members and an array's elements with their bounds,
// Unescape decodes a string. A walk checks what it needs to find its way
// (strings end, brackets match, members have keys and colons) and trusts
// the rest to the text's checker or writer; where its way is lost it
// returns -1 rather than panic. Nothing recurses, so no depth of nesting
// can exhaust a goroutine's stack. AppendString writes
// a string the one way linewatch writes strings everywhere, and Clip cuts
// text short for a message.
package jsontext
