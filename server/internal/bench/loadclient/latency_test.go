package main

import (
	"testing"
	"time"
)

// The quantiles and the share over 20 ms come from the latencies as
// measured, in whatever order they came.
func TestLatenciesGiveQuantilesAndTheShareOverTwentyMilliseconds(t *testing.T) {
	var all []time.Duration
	for ms := 100; ms >= 1; ms-- { // 100 ms down to 1 ms
		all = append(all, time.Duration(ms)*time.Millisecond)
	}
	var res Result
	res.setLatencies(all)
	if res.P50Ms != 50 || res.P90Ms != 90 || res.P99Ms != 99 || res.MaxMs != 100 || res.Over20Ms != 80 {
		t.Errorf("p50 %v, p90 %v, p99 %v, max %v, over 20 ms %v%%; want 50, 90, 99, 100 and 80%%",
			res.P50Ms, res.P90Ms, res.P99Ms, res.MaxMs, res.Over20Ms)
	}
	if all[0] != 100*time.Millisecond {
		t.Error("the caller's latencies were reordered")
	}
	var none Result
	none.setLatencies(nil)
	if none != (Result{}) {
		t.Errorf("no latencies gave %+v, want zeros", none)
	}
}
