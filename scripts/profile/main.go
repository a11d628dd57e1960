// Command profile runs batch detection on sighting files with CPU and
// heap profiles, for finding where the time and memory of a run go:
//
//	go run ./scripts/profile -line fixtures/lines/front-2024.geojson -cpu cpu.out -mem mem.out FILE...
//	go tool pprof -top cpu.out
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/linewatch/linewatch/batch"
	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/geo"
)

func main() {
	linePath := flag.String("line", "fixtures/lines/front-2024.geojson", "the agreed line")
	cpu := flag.String("cpu", "", "write a CPU profile to this file")
	mem := flag.String("mem", "", "write a heap profile (at the end of reading) to this file")
	memAt := flag.Int64("mem-at", 0, "write the heap profile once this many records are read, instead of at the end")
	flag.Parse()
	pol := detect.DefaultPolicy()
	line, err := geo.LoadFile(*linePath, pol.LineOptions())
	if err != nil {
		log.Fatal(err)
	}
	if *cpu != "" {
		f, err := os.Create(*cpu)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	cfg := batch.Config{Judge: detect.NewJudge(line, pol)}
	if *mem != "" && *memAt > 0 {
		written := false
		cfg.Progress = func(records, _ int64) {
			if !written && records >= *memAt {
				written = true
				writeHeap(*mem)
			}
		}
	}
	out, err := batch.Run(cfg, flag.Args())
	if err != nil {
		log.Fatal(err)
	}
	wall := time.Since(start)
	if *mem != "" && *memAt == 0 {
		writeHeap(*mem)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("%d records in %v (%.0f/s), %d episodes; heap in use %d MB, sys %d MB\n",
		out.Counts.Read, wall, float64(out.Counts.Read)/wall.Seconds(), len(out.Result.Episodes),
		ms.HeapInuse>>20, ms.Sys>>20)
	runtime.KeepAlive(out)
}

func writeHeap(name string) {
	f, err := os.Create(name)
	if err != nil {
		log.Fatal(err)
	}
	runtime.GC()
	pprof.WriteHeapProfile(f)
	f.Close()
}
