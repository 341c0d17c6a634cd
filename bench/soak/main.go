// Command soak runs mixed load on one nectar serve for a while, samples the
// server every 10 s into a CSV, draws the samples as an SVG, and says
// whether the server held: no error answers, no leaked goroutines or file
// descriptors, memory flat after the warm-up, the history trimmed to its
// limit, p99 stable. The exit code is 0 when it held, 1 when it did not, 2
// when the soak could not run. Everything listens on 127.0.0.1.
//
//	go build -o /tmp/nectar ./cmd/nectar && go run ./bench/soak -nectar /tmp/nectar -duration 60s
//
// bench/soak/run.sh does that; bench/soak/README.md describes the load,
// the columns and the rules.
package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/nectar-run/nectar/internal/httpjson"
)

//go:embed customer.json
var customer []byte

type config struct {
	nectar, pipelines, out   string
	duration, warmup, every  time.Duration
	settle, tokenLifetime    time.Duration
	historyMax               int
	tokenRate, transformRate float64
	apiRate, eventRate       float64
}

func main() {
	var c config
	flag.StringVar(&c.nectar, "nectar", "", "the nectar binary to soak (required)")
	flag.StringVar(&c.pipelines, "pipelines", "bench/soak/pipelines", "the soak's pipelines (served with --dir)")
	flag.StringVar(&c.out, "out", "bench/soak/out", "where soak.csv, soak.svg and nectar.log go")
	flag.DurationVar(&c.duration, "duration", 30*time.Minute, "how long the load runs after the warm-up")
	flag.DurationVar(&c.warmup, "warmup", 0, "the warm-up's load (0: a sixth of -duration, between 10s and 30s)")
	flag.DurationVar(&c.every, "every", 10*time.Second, "sampling interval (a CSV row and a p99 window)")
	flag.DurationVar(&c.settle, "settle", 20*time.Second, "how long the server may take to come back to its idle state after the load")
	flag.DurationVar(&c.tokenLifetime, "token-lifetime", time.Minute, "lifetime of the fake provider's access tokens")
	flag.IntVar(&c.historyMax, "history-max", 2000, "nectar serve --history-max (small, so that trimming happens)")
	flag.Float64Var(&c.tokenRate, "token-rate", 40, "POST /oauth/token per second")
	flag.Float64Var(&c.transformRate, "transform-rate", 40, "POST /transform (assert + JOLT) per second")
	flag.Float64Var(&c.apiRate, "api-rate", 20, "POST /soak/api (two REST calls with OAuth accounts) per second")
	flag.Float64Var(&c.eventRate, "event-rate", 20, "POST /soak/publish (an event, handled by soak-subscribe) per second")
	flag.Parse()
	if c.nectar == "" {
		fmt.Fprintln(os.Stderr, "soak: -nectar is required (bench/soak/run.sh builds it)")
		os.Exit(2)
	}
	if c.warmup == 0 {
		c.warmup = min(max(c.duration/6, 10*time.Second), 30*time.Second)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Bounded: a soak that hangs ends with an error.
	ctx, cancel := context.WithTimeout(ctx, c.warmup+c.duration+5*time.Minute)
	defer cancel()
	ok, err := soak(ctx, c)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("stopped before the end (%w): %w", context.Cause(ctx), err)
		}
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

// run is one soak: the fake, the server, the setup, the load and the
// samples.
type run struct {
	c        config
	base     string // nectar's http://127.0.0.1:PORT
	adminKey string
	fake     *fake
	client   *http.Client // the load's
	api      *http.Client // setup and sampling: one connection kept
	// probe reads the idle levels on a connection of its own, closed
	// after each request, so that the driver's own connections are the
	// same at both idle readings.
	probe   *http.Client
	load    *load
	samples []sample
	begin   time.Time
	// published counts the events the load published (soak-publish
	// answered 200): those the fake must have received at the end.
	published func() int64
}

func soak(ctx context.Context, c config) (bool, error) {
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return false, err
	}
	tmp, err := os.MkdirTemp("", "nectar-soak-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(tmp)

	f, err := startFake(c.tokenLifetime)
	if err != nil {
		return false, err
	}
	defer f.srv.Close()

	r := &run{
		c:        c,
		adminKey: randomHex(24),
		fake:     f,
		client:   &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4 * maxInFlight, IdleConnTimeout: time.Minute}},
		api:      &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}},
		probe:    &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}},
	}
	srv, err := r.startServer(tmp)
	if err != nil {
		return false, err
	}
	defer srv.Process.Kill()

	setupCtx, cancel := context.WithTimeout(ctx, time.Minute)
	kinds, err := r.setup(setupCtx)
	cancel()
	if err != nil {
		return false, fmt.Errorf("setting up: %w (server log: %s)", err, filepath.Join(c.out, "nectar.log"))
	}
	r.load = newLoad(r.client, kinds)
	// soak-tick runs from the server's start and fails until soak-ac
	// exists: executions fail from here on only when something is wrong.
	// A tick that reached the fake proves the setup is seen.
	for t := f.ticks.Load(); f.ticks.Load() == t && ctx.Err() == nil; {
		time.Sleep(100 * time.Millisecond)
	}
	m, err := metrics(ctx, r.api, r.base)
	if err != nil {
		return false, err
	}
	failedBefore := m["nectar_executions_total|status=failed"]
	r.published = func() int64 { return r.load.okBy("event") }

	fmt.Printf("soak: %s of load after a %s warm-up on %s (history-max %d); rates/s token %g, transform %g, api %g, event %g, plus a schedule every second\n",
		c.duration, c.warmup, r.base, c.historyMax, c.tokenRate, c.transformRate, c.apiRate, c.eventRate)
	r.begin = time.Now()
	sampling, stopSampling := context.WithCancel(ctx)
	defer stopSampling()
	samplerDone := make(chan error, 1)
	phase := make(chan string, 1)
	go func() { samplerDone <- r.sampleEvery(sampling, phase) }()

	// Warm-up, then the idle level the end is compared with.
	phase <- "warmup"
	r.runLoad(ctx, c.warmup)
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	idleBefore, err := r.idle(ctx, nil)
	if err != nil {
		return false, err
	}
	fmt.Printf("soak: idle after the warm-up: %.0f goroutines, %.0f open fds\n", idleBefore.goroutines, idleBefore.fds)
	r.dumpGoroutines(ctx, "goroutines-idle-before.txt")

	phase <- "load"
	loadStart := time.Since(r.begin)
	ticksBefore := f.ticks.Load()
	r.runLoad(ctx, c.duration)
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	loadEnd := time.Since(r.begin)
	ticks := f.ticks.Load() - ticksBefore

	// After the load: the events published are delivered, and the server
	// comes back to its idle level.
	phase <- "after"
	deadline := time.Now().Add(c.settle)
	for f.events.Load() < r.published() && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	idleAfter, err := r.idle(ctx, &idleBefore)
	if err != nil {
		return false, err
	}
	r.dumpGoroutines(ctx, "goroutines-idle-after.txt")
	stopSampling()
	if err := <-samplerDone; err != nil && !errors.Is(err, context.Canceled) {
		return false, err
	}
	last, err := r.sample(ctx, "after", window{})
	if err != nil {
		return false, err
	}
	r.samples = append(r.samples, last)

	exit := r.stopServer(srv)

	v := verdict{
		c: c, samples: r.samples, loadStart: loadStart, loadEnd: loadEnd,
		sent: r.load.sent.Load(), failed: r.load.failed.Load(), skipped: r.load.skippedTotal.Load(),
		firstErrors: r.load.firstErrors, idleBefore: idleBefore, idleAfter: idleAfter,
		ticks: ticks, published: r.published(), delivered: f.events.Load(), refused: f.refused.Load(),
		tokenRequests: f.tokens.Load(), refreshes: f.refreshes.Load(), serverExit: exit,
		failedBefore: failedBefore,
	}
	if err := writeCSV(filepath.Join(c.out, "soak.csv"), r.samples); err != nil {
		return false, err
	}
	if err := os.WriteFile(filepath.Join(c.out, "soak.svg"), plot(r.samples, loadStart, loadEnd, c.historyMax), 0o644); err != nil {
		return false, err
	}
	ok := v.report(os.Stdout)
	fmt.Printf("soak: wrote %s and %s\n", filepath.Join(c.out, "soak.csv"), filepath.Join(c.out, "soak.svg"))
	return ok, nil
}

// freePort returns a loopback address nobody listens on (now).
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func (r *run) startServer(tmp string) (*exec.Cmd, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	r.base = "http://" + addr
	globals := filepath.Join(tmp, "soak.globals.yaml")
	if err := os.WriteFile(globals, []byte("soak_api: "+r.fake.url+"/api\n"), 0o644); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(r.c.out, "nectar.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(r.c.nectar, "serve", "--addr", addr, "--dir", r.c.pipelines, "--globals", globals,
		"--data-dir", filepath.Join(tmp, "data"), "--store", "", "--history-max", fmt.Sprint(r.c.historyMax),
		"--reload-interval", "0", "--log-level", "warn")
	cmd.Env = append(os.Environ(), "NECTAR_ADMIN_KEY="+r.adminKey, "NECTAR_CREDENTIALS_APIKEY="+r.adminKey)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	for range 200 {
		if res, err := r.api.Get(r.base + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return cmd, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	cmd.Process.Kill()
	return nil, fmt.Errorf("nectar serve did not answer /healthz within 20 s (see %s)", logf.Name())
}

// stopServer sends SIGTERM and returns how the server exited (its exit
// code is 0 unless execution records were lost).
func (r *run) stopServer(cmd *exec.Cmd) string {
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return err.Error()
		}
		return ""
	case <-time.After(40 * time.Second):
		cmd.Process.Kill()
		return "did not stop within 40 s of SIGTERM"
	}
}

// call sends a JSON request to nectar (with the admin key for /api/) and
// decodes a 2xx answer into out.
func (r *run) call(ctx context.Context, method, path string, in, out any) error {
	req, err := httpjson.NewRequest(ctx, method, r.base+path, in)
	if err != nil {
		return err
	}
	if strings.HasPrefix(path, "/api/") {
		req.Header.Set("Authorization", "Bearer "+r.adminKey)
	}
	res, err := r.api.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s answered %s: %s", method, path, res.Status, preview(raw))
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// setup creates what the load uses: an OAuth client of the shipped
// credential provider (for /oauth/token), a custom provider for the fake,
// the account soak-cc (client credentials) and the account soak-ac
// (authorization code, authorized here by following the consent URL as a
// browser would).
func (r *run) setup(ctx context.Context) ([]kind, error) {
	var client struct {
		ClientID     string `json:"clientId"`
		ClientSecret string `json:"clientSecret"`
	}
	err := r.call(ctx, http.MethodPost, "/credential-provider",
		map[string]string{"partnerId": "soak", "executionType": "create", "apikey": r.adminKey}, &client)
	if err != nil {
		return nil, fmt.Errorf("creating an OAuth client: %w", err)
	}
	if client.ClientID == "" || client.ClientSecret == "" {
		return nil, fmt.Errorf("the credential provider answered no client")
	}
	f := r.fake
	err = r.call(ctx, http.MethodPut, "/api/providers/soak-fake", map[string]any{
		"name": "soak-fake", "auth_url": f.url + "/authorize", "token_url": f.url + "/token", "pkce": true,
	}, nil)
	if err != nil {
		return nil, err
	}
	secrets := map[string]string{"client_secret": f.secret}
	err = r.call(ctx, http.MethodPost, "/api/accounts/soak-cc", map[string]any{
		"name": "soak-cc", "type": "oauth2-client-credentials", "token_url": f.url + "/token",
		"client_id": fakeClientID, "base_url": f.url + "/api", "secrets": secrets,
	}, nil)
	if err != nil {
		return nil, err
	}
	err = r.call(ctx, http.MethodPost, "/api/accounts/soak-ac", map[string]any{
		"name": "soak-ac", "type": "oauth2", "provider": "soak-fake",
		"client_id": fakeClientID, "base_url": f.url + "/api", "secrets": secrets,
	}, nil)
	if err != nil {
		return nil, err
	}
	var started struct {
		ConsentURL string `json:"consent_url"`
	}
	if err := r.call(ctx, http.MethodPost, "/api/accounts/soak-ac/authorize", nil, &started); err != nil {
		return nil, err
	}
	// The browser: the fake's /authorize redirects to nectar's loopback
	// callback with the code, which nectar exchanges.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, started.ConsentURL, nil)
	if err != nil {
		return nil, err
	}
	if u := req.URL; u.Scheme != "http" || !strings.HasPrefix(u.Host, "127.0.0.1:") {
		return nil, fmt.Errorf("the consent URL %s is not the fake's", started.ConsentURL)
	}
	res, err := r.api.Do(req)
	if err != nil {
		return nil, fmt.Errorf("following the consent URL: %w", err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the authorization callback answered %s: %s", res.Status, preview(page))
	}
	var state struct {
		State string `json:"state"`
		Error string `json:"error"`
	}
	if err := r.call(ctx, http.MethodGet, "/api/accounts/soak-ac/authorize?wait=20s", nil, &state); err != nil {
		return nil, err
	}
	if state.State != "authorized" {
		return nil, fmt.Errorf("soak-ac was not authorized: %s %s", state.State, state.Error)
	}
	return []kind{
		tokenKind(r.base, client.ClientID, client.ClientSecret, r.c.tokenRate),
		jsonKind("transform", r.base+"/transform", r.c.transformRate, func(int64) []byte { return customer }),
		jsonKind("api", r.base+"/soak/api", r.c.apiRate, numbered),
		jsonKind("event", r.base+"/soak/publish", r.c.eventRate, numbered),
	}, nil
}

// runLoad sends the load for d (less if ctx ends), and waits for the
// answers in flight.
func (r *run) runLoad(ctx context.Context, d time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	r.load.run(ctx)
}

// sampleEvery appends a sample every c.every until ctx ends, each labelled
// with the last phase received.
func (r *run) sampleEvery(ctx context.Context, phase <-chan string) error {
	cur := <-phase
	t := time.NewTicker(r.c.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case p := <-phase:
			cur = p
			continue
		case <-t.C:
		}
		s, err := r.sample(ctx, cur, r.load.take())
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("sampling: %w", err)
		}
		r.samples = append(r.samples, s)
		fmt.Printf("soak: %4.0fs %-6s rss %6.1f MB, live heap %6.1f MB, %4.0f goroutines, %3.0f fds, history %5d, %5d requests, %d errors, p99 %s\n",
			s.T.Seconds(), s.Phase, s.RSS/1e6, s.HeapLive/1e6, s.Goroutines, s.FDs, s.History, s.Window.requests, s.Window.errors, s.Window.p99.Round(10*time.Microsecond))
	}
}

func (r *run) sample(ctx context.Context, phase string, w window) (sample, error) {
	m, err := metrics(ctx, r.api, r.base)
	if err != nil {
		return sample{}, err
	}
	h, err := historySize(ctx, r.api, r.base, r.adminKey)
	if err != nil {
		return sample{}, err
	}
	live, err := liveHeap(ctx, r.api, r.base, r.adminKey)
	if err != nil {
		return sample{}, err
	}
	f := r.fake
	return sample{
		T: time.Since(r.begin), Phase: phase,
		RSS: m["process_resident_memory_bytes"], HeapAlloc: m["go_memstats_heap_alloc_bytes"], HeapGoal: m["go_memstats_next_gc_bytes"],
		HeapLive:   live,
		Goroutines: m["go_goroutines"], FDs: m["process_open_fds"], History: h,
		Executions: m["nectar_executions_total"], Failed: m["nectar_executions_total|status=failed"],
		Window:        w,
		TokenRequests: f.tokens.Load(), Refused: f.refused.Load(), APICalls: f.calls.Load(), Events: f.events.Load(), Ticks: f.ticks.Load(),
		Published: r.published(),
	}, nil
}

// idleLevel is the server's goroutines and open fds with no load: the
// lowest of five readings a second apart (a schedule tick may be running
// at any one of them).
type idleLevel struct{ goroutines, fds float64 }

// idle closes the load's idle connections and reads the idle level. With
// want (the level after the warm-up), it waits up to c.settle for the
// server to come back to it, and returns the last level read.
func (r *run) idle(ctx context.Context, want *idleLevel) (idleLevel, error) {
	r.client.CloseIdleConnections()
	time.Sleep(3 * time.Second) // the fake closes nectar's idle connections after 2 s
	deadline := time.Now().Add(r.c.settle)
	for {
		lv := idleLevel{goroutines: -1, fds: -1}
		for i := range 5 {
			if i > 0 {
				time.Sleep(time.Second)
			}
			m, err := metrics(ctx, r.probe, r.base)
			if err != nil {
				return lv, err
			}
			if g := m["go_goroutines"]; lv.goroutines < 0 || g < lv.goroutines {
				lv.goroutines = g
			}
			if fd := m["process_open_fds"]; lv.fds < 0 || fd < lv.fds {
				lv.fds = fd
			}
		}
		if want == nil || (lv.goroutines <= want.goroutines+goroutineSlack && lv.fds <= want.fds+fdSlack) || time.Now().After(deadline) {
			return lv, nil
		}
	}
}

// dumpGoroutines writes the server's goroutines (pprof, grouped by stack)
// to name in the output folder: the two idle dumps side by side show what a
// leak is made of.
func (r *run) dumpGoroutines(ctx context.Context, name string) {
	b, err := get(ctx, r.probe, r.base+"/debug/pprof/goroutine?debug=1", r.adminKey)
	if err == nil {
		err = os.WriteFile(filepath.Join(r.c.out, name), b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak: goroutine dump:", err)
	}
}
