package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// A sample is one row of the CSV: the server's state every 10 s, and what
// the load saw in the window that ended then.
type sample struct {
	T          time.Duration // since the warm-up began
	Phase      string        // warmup, load, after
	RSS        float64       // process_resident_memory_bytes
	HeapAlloc  float64       // go_memstats_heap_alloc_bytes
	HeapGoal   float64       // go_memstats_next_gc_bytes
	HeapLive   float64       // HeapAlloc right after a forced GC: the live heap
	Goroutines float64       // go_goroutines
	FDs        float64       // process_open_fds
	History    int           // execution records stored
	Executions float64       // nectar_executions_total, every status
	Failed     float64       // nectar_executions_total{status="failed"}
	Window     window        // the load's window
	// The fake's counters, cumulative.
	TokenRequests, Refused, APICalls, Events, Ticks int64
	Published                                       int64 // events published (soak-publish answered 200)
}

// metrics reads the series the soak needs from nectar's /metrics
// (Prometheus text format): the value of each name, summed over its
// labels; "name|status=failed" sums the series with that label.
func metrics(ctx context.Context, c *http.Client, base string) (map[string]float64, error) {
	body, err := get(ctx, c, base+"/metrics", "")
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for line := range strings.Lines(string(body)) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		if sp < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[sp+1:], 64)
		if err != nil {
			continue
		}
		name, labels, _ := strings.Cut(line[:sp], "{")
		out[name] += v
		if name == "nectar_executions_total" && strings.Contains(labels, `status="failed"`) {
			out[name+"|status=failed"] += v
		}
	}
	return out, nil
}

// get sends GET u (with the admin key unless it is empty) and returns the
// body of a 200 answer; any other answer is an error quoting its start.
func get(ctx context.Context, c *http.Client, u, adminKey string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if adminKey != "" {
		req.Header.Set("Authorization", "Bearer "+adminKey)
	}
	res, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err == nil && res.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s answered %s: %s", req.URL.Path, res.Status, preview(body))
	}
	return body, err
}

// historySize counts the execution records stored, a page of 1000 at a time
// (GET /api/executions, newest first, before= the last id of a page).
func historySize(ctx context.Context, c *http.Client, base, adminKey string) (int, error) {
	n, before := 0, ""
	for range 1000 {
		u := base + "/api/executions?limit=1000"
		if before != "" {
			u += "&before=" + url.QueryEscape(before)
		}
		var recs []struct {
			ID string `json:"id"`
		}
		body, err := get(ctx, c, u, adminKey)
		if err == nil {
			err = json.Unmarshal(body, &recs)
		}
		if err != nil {
			return 0, err
		}
		n += len(recs)
		if len(recs) < 1000 {
			return n, nil
		}
		before = recs[len(recs)-1].ID
	}
	return n, fmt.Errorf("more than a million execution records")
}

// liveHeap forces a GC in the server and returns its HeapAlloc right after:
// the live heap. It reads the heap profile (GET /debug/pprof/heap?gc=1,
// admin key), whose text form ends with the runtime's MemStats. The heap
// in use at a random moment (go_memstats_heap_alloc_bytes) carries up to a
// GC cycle of garbage, and the GC's goal moves in steps of a cycle: neither
// shows a slow leak within minutes.
func liveHeap(ctx context.Context, c *http.Client, base, adminKey string) (float64, error) {
	body, err := get(ctx, c, base+"/debug/pprof/heap?gc=1&debug=1", adminKey)
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "# HeapAlloc = "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, fmt.Errorf("/debug/pprof/heap has no HeapAlloc line")
}
