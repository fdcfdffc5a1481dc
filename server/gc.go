package server

import (
	"os"
	"runtime/debug"
)

// GCPercent is the garbage collector's target the hub serves with unless GOGC says otherwise. A request
// allocates about a megabyte that is garbage once its response is written, over a live heap of a few tens
// of megabytes; at Go's default of 100 the collector ran every few requests and took about a quarter of
// the CPU of serving a page of 100 victims (bench BenchmarkPeerQueries/b, user CPU 1.85 s against 1.38 s
// at 400 for 300 requests). GOMEMLIMIT, where set, still bounds the heap.
const GCPercent = 400

// TuneGC sets GCPercent, unless the GOGC environment variable chose a target.
func TuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(GCPercent)
	}
}
