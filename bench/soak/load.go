package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// A kind is one sort of request the load sends, at its own steady rate
// (open loop: a slow answer does not slow the sending down, so latency
// shows in p99 rather than hiding in a lower rate).
type kind struct {
	name string
	rate float64 // requests per second
	// request builds the i-th request.
	request func(i int64) (*http.Request, error)
}

// maxInFlight bounds the requests of one kind waiting for an answer; a tick
// that finds them all busy is counted as skipped (the server fell behind).
const maxInFlight = 64

// load sends the kinds' requests and keeps, per window, every latency and
// the errors: an answer other than 200, or no answer.
type load struct {
	client *http.Client
	kinds  []kind

	mu          sync.Mutex
	lat         map[string][]time.Duration // this window's latencies by kind
	errs        int64                      // this window's errors
	skipped     int64                      // this window's skipped ticks
	firstErrors []string                   // the first few errors, for the report

	sent, failed, skippedTotal atomic.Int64
	ok                         map[string]*atomic.Int64 // answers 200 by kind
	wg                         sync.WaitGroup
}

func newLoad(client *http.Client, kinds []kind) *load {
	l := &load{client: client, kinds: kinds, lat: map[string][]time.Duration{}, ok: map[string]*atomic.Int64{}}
	for _, k := range kinds {
		l.ok[k.name] = new(atomic.Int64)
	}
	return l
}

// okBy is how many requests of the kind were answered 200.
func (l *load) okBy(kind string) int64 {
	if c := l.ok[kind]; c != nil {
		return c.Load()
	}
	return 0
}

// run sends until ctx ends, then waits for the answers in flight.
func (l *load) run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, k := range l.kinds {
		if k.rate <= 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.send(ctx, k)
		}()
	}
	wg.Wait()
	l.wg.Wait()
}

func (l *load) send(ctx context.Context, k kind) {
	interval := time.Duration(float64(time.Second) / k.rate)
	sem := make(chan struct{}, maxInFlight)
	next := time.Now()
	var i int64
	for {
		next = next.Add(interval)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
		select {
		case sem <- struct{}{}:
		default:
			l.skippedTotal.Add(1)
			l.mu.Lock()
			l.skipped++
			l.mu.Unlock()
			continue
		}
		i++
		l.wg.Add(1)
		go func(i int64) {
			defer l.wg.Done()
			defer func() { <-sem }()
			l.one(k, i)
		}(i)
	}
}

// one sends a request and records its outcome. The requests are not tied
// to the load's context: stopping the load lets those in flight finish.
func (l *load) one(k kind, i int64) {
	req, err := k.request(i)
	if err != nil {
		l.record(k.name, 0, fmt.Sprintf("%s: %v", k.name, err))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	res, err := l.client.Do(req.WithContext(ctx))
	if err != nil {
		l.record(k.name, 0, fmt.Sprintf("%s: %v", k.name, err))
		return
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	res.Body.Close()
	d := time.Since(start)
	switch {
	case err != nil:
		l.record(k.name, d, fmt.Sprintf("%s: reading the answer: %v", k.name, err))
	case res.StatusCode != http.StatusOK:
		l.record(k.name, d, fmt.Sprintf("%s: %d %s", k.name, res.StatusCode, preview(body)))
	default:
		l.ok[k.name].Add(1)
		l.record(k.name, d, "")
	}
}

func preview(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

func (l *load) record(kind string, d time.Duration, failure string) {
	l.sent.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if d > 0 {
		l.lat[kind] = append(l.lat[kind], d)
	}
	if failure != "" {
		l.failed.Add(1)
		l.errs++
		if len(l.firstErrors) < 10 {
			l.firstErrors = append(l.firstErrors, failure)
		}
	}
}

// window is what the load saw since the previous call.
type window struct {
	requests, errors, skipped int64
	p99                       time.Duration            // of every kind's latencies together
	p99By                     map[string]time.Duration // by kind
}

func (l *load) take() window {
	l.mu.Lock()
	lat, errs, skipped := l.lat, l.errs, l.skipped
	l.lat, l.errs, l.skipped = map[string][]time.Duration{}, 0, 0
	l.mu.Unlock()
	w := window{errors: errs, skipped: skipped, p99By: map[string]time.Duration{}}
	var all []time.Duration
	for k, ds := range lat {
		w.requests += int64(len(ds))
		w.p99By[k] = percentile(ds, 99)
		all = append(all, ds...)
	}
	w.p99 = percentile(all, 99)
	return w
}

// percentile is the nearest-rank percentile p of ds (0 when empty); it
// sorts ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	rank := int(float64(len(ds))*p/100+0.999999) - 1
	return ds[max(0, min(rank, len(ds)-1))]
}

// The requests of the soak, against nectar at base.

func tokenKind(base, clientID, clientSecret string, rate float64) kind {
	body := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {clientSecret}}.Encode()
	return kind{name: "token", rate: rate, request: func(int64) (*http.Request, error) {
		req, err := http.NewRequest(http.MethodPost, base+"/oauth/token", bytes.NewReader([]byte(body)))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Accept", "application/json")
		}
		return req, err
	}}
}

func jsonKind(name, u string, rate float64, body func(i int64) []byte) kind {
	return kind{name: name, rate: rate, request: func(i int64) (*http.Request, error) {
		req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(body(i)))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
		return req, err
	}}
}

func numbered(i int64) []byte { return []byte(`{"n":` + strconv.FormatInt(i, 10) + `}`) }
