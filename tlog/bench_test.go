package tlog_test

import (
	"context"
	"crypto/sha256"
	"io/fs"
	"strings"
	"syscall"
	"testing"

	sumtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/linewatch/linewatch/tlog"
)

// A record of the demo feed's size (about 330 bytes).
func benchEntry(i int) tlog.Entry {
	e := entry(i)
	e.Record = append(e.Record[:len(e.Record)-2], `,"side":"RU","kind":"ground","track":"RU-bn-117","strength":12,"confidence":0.8,"precision_m":50,"source":"obs-01"}}`...)
	return e
}

// BenchmarkLeaf is the engine's workers' share: encoding and hashing a
// record's entry (parallel). One op is one record.
func BenchmarkLeaf(b *testing.B) {
	e := benchEntry(1)
	b.SetBytes(int64(len(e.Record)))
	for b.Loop() {
		if _, err := e.Leaf(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHashFloor is what RFC 6962 asks of every record (here an entry
// of 265 bytes, as the streambench feed's are on average), whoever
// computes it: the SHA-256 of its leaf (0x00 and the entry) and, the tree
// having one interior node per leaf, of one node (0x01 and two hashes).
// One op is one record; nothing else a log does is counted. Against the
// engine's own CPU per record without the log, it is the least share
// the log can add.
func BenchmarkHashFloor(b *testing.B) {
	e := benchEntry(1)
	data, _, err := e.AppendBinary(nil)
	if err != nil {
		b.Fatal(err)
	}
	leaf := append([]byte{0}, data...) // RFC 6962's leaf: 0x00, then the entry
	b.SetBytes(int64(len(data)))
	var h sumtlog.Hash
	for b.Loop() {
		h = sha256.Sum256(leaf)
		h = sumtlog.NodeHash(h, h)
	}
	_ = h
}

// BenchmarkAppend is the driver's share, in consumption order: the tree's
// interior hashes, tiles and bundles, with a checkpoint every 100,000
// records. One op is one record: ns/op is ms per million records. The
// "framed" runs append framed entries 1,024 at a time (AppendFramed), as
// the engine does; the others one leaf at a time (Append).
func BenchmarkAppend(b *testing.B) {
	for _, kind := range []string{"discard", "dir", "pack", "discard-framed", "pack-framed"} {
		b.Run(kind, func(b *testing.B) {
			ctx := context.Background()
			var st tlog.Storage = discard{}
			if strings.HasPrefix(kind, "dir") {
				d, err := tlog.NewDir(b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				st = d
			}
			if strings.HasPrefix(kind, "pack") {
				d, err := tlog.NewPackDir(b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				st = d
			}
			framed := strings.HasSuffix(kind, "-framed")
			w := newWriter(b, st, 0)
			const run = 1024
			leaves := make([]tlog.Leaf, run)
			var buf []byte
			var hashes []tlog.Hash
			for i := range leaves {
				e := benchEntry(i)
				leaves[i] = leaf(b, e)
				buf, _, _ = e.AppendFramed(buf)
				hashes = append(hashes, leaves[i].Hash)
			}
			i := 0
			cpu0 := cpuTime(b)
			for b.Loop() {
				if framed {
					if i%run == 0 {
						if _, err := w.AppendFramed(ctx, buf, hashes); err != nil {
							b.Fatal(err)
						}
					}
				} else if _, err := w.Append(ctx, leaves[i%run]); err != nil {
					b.Fatal(err)
				}
				i++
				if i%100_000 == 0 {
					if _, err := w.Checkpoint(ctx); err != nil {
						b.Fatal(err)
					}
				}
			}
			if _, err := w.Checkpoint(ctx); err != nil {
				b.Fatal(err)
			}
			// The writer's goroutine and the kernel's work for it count
			// too: the process's CPU time per record, fairer than ns/op
			// on a machine shared with other work.
			b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuTime is the process's CPU time so far (user and system), in ns.
func cpuTime(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// discard drops what is put: the writer's own cost, without storage's.
type discard struct{}

func (discard) Get(context.Context, string) ([]byte, error) { return nil, fs.ErrNotExist }
func (discard) Put(context.Context, string, []byte) error   { return nil }
func (discard) Delete(context.Context, string) error        { return nil }
func (discard) Sync(context.Context) error                  { return nil }
