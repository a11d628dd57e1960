package tlog

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/linewatch/linewatch/internal/jsontext"
)

// AlertLog is what an alert says of the log it was made under: the tree
// head when it was made (the checkpoint covering the record that made
// it), and the leaf index of each of its evidence ids, in the order of
// its "evidence" array. docs/log.md specifies the member.
type AlertLog struct {
	Origin   string
	Size     uint64
	Root     Hash
	Evidence []uint64
}

// AppendAlertLog appends the "log" member to an alert Feature written by
// output.AppendAlert: it goes last among the properties.
func AppendAlertLog(alert []byte, l AlertLog) ([]byte, error) {
	if !bytes.HasSuffix(alert, []byte("}}")) {
		return nil, errors.New("alert log: not a Feature ending with its properties")
	}
	b := alert[:len(alert)-2]
	b = append(b, `,"log":{"origin":`...)
	b = jsontext.AppendString(b, l.Origin)
	b = append(b, `,"size":`...)
	b = strconv.AppendUint(b, l.Size, 10)
	b = append(b, `,"root":"`...)
	b = base64.StdEncoding.AppendEncode(b, l.Root[:])
	b = append(b, `","evidence":[`...)
	for i, x := range l.Evidence {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, x, 10)
	}
	return append(b, "]}}}"...), nil
}

// CutAlertLog splits an alert line into the alert without its "log"
// member — the bytes the engine wrote before it added the member — and
// the member; log is nil when the alert has none.
func CutAlertLog(line []byte) (alert []byte, log *AlertLog, err error) {
	line = bytes.TrimRight(line, "\r\n")
	// The member is the last of the properties; a string value cannot
	// hold `,"log":{` unescaped, so its last occurrence is the member.
	i := bytes.LastIndex(line, []byte(`,"log":{`))
	if i < 0 {
		return line, nil, nil
	}
	if !bytes.HasSuffix(line, []byte("}}}")) {
		return nil, nil, errors.New(`its "log" member is not the last of its properties`)
	}
	var m struct {
		Origin   *string   `json:"origin"`
		Size     *uint64   `json:"size"`
		Root     *string   `json:"root"`
		Evidence *[]uint64 `json:"evidence"`
	}
	member := line[i+len(`,"log":`) : len(line)-2]
	dec := json.NewDecoder(bytes.NewReader(member))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, nil, fmt.Errorf(`its "log" member: %w`, err)
	}
	if m.Origin == nil || m.Size == nil || m.Root == nil || m.Evidence == nil {
		return nil, nil, errors.New(`its "log" member lacks origin, size, root or evidence`)
	}
	l := &AlertLog{Origin: *m.Origin, Size: *m.Size, Evidence: *m.Evidence}
	h, err := base64.StdEncoding.DecodeString(*m.Root)
	if err != nil || len(h) != len(l.Root) {
		return nil, nil, fmt.Errorf(`its "log" member: root %q is not 32 bytes in base64`, *m.Root)
	}
	copy(l.Root[:], h)
	alert = append(bytes.Clone(line[:i]), "}}"...)
	return alert, l, nil
}

// RootBuilder computes the root of a tree from its leaf hashes, in order,
// keeping only the right edge (one hash per bit of the size).
type RootBuilder struct {
	size  uint64
	stack []Hash // perfect subtrees, largest first
}

// Add appends a leaf hash.
func (b *RootBuilder) Add(h Hash) {
	b.stack = append(b.stack, h)
	for n := b.size; n&1 == 1; n >>= 1 {
		top := len(b.stack)
		b.stack[top-2] = nodeHash(b.stack[top-2], b.stack[top-1])
		b.stack = b.stack[:top-1]
	}
	b.size++
}

// Size is the number of leaves added.
func (b *RootBuilder) Size() uint64 { return b.size }

// Root is the RFC 6962 root of the leaves added.
func (b *RootBuilder) Root() Hash {
	if len(b.stack) == 0 {
		return emptyRoot()
	}
	acc := b.stack[len(b.stack)-1]
	for i := len(b.stack) - 2; i >= 0; i-- {
		acc = nodeHash(b.stack[i], acc)
	}
	return acc
}
