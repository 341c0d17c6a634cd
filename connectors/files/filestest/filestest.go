// Package filestest holds what the tests of the file connectors
// (google-drive, onedrive) share: a runtime with an accounts manager on a
// real bbolt store, pipelines loaded from step lists, a step that reads
// the file a reference points at, the bearer-token check of the fakes,
// content generated on the fly and a peak-heap sampler.
package filestest

import (
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/secret"
	"github.com/nectar-run/nectar/store/bolt"
)

// Token is the bearer token of the account an Env holds.
const Token = "test-token"

// Env is a runtime with an accounts manager on a bbolt store in a
// temporary directory, holding one bearer account with Token.
type Env struct {
	T  testing.TB
	RT *engine.Runtime
	M  *accounts.Manager
}

// NewEnv returns an Env whose account is named account.
func NewEnv(t testing.TB, account string, opts ...accounts.Option) *Env {
	t.Helper()
	st, err := bolt.Open(t.TempDir(), bolt.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, _ := secret.NewSealer(secret.GenerateKey())
	m := accounts.NewManager(st, sealer, opts...)
	rt := &engine.Runtime{}
	accounts.Install(rt, m)
	// The fake APIs are on 127.0.0.1 (any port): they stand for the real
	// API hosts the account's token may go to.
	if err := m.Put(context.Background(), &accounts.Account{Name: account, Type: accounts.TypeBearer, Token: secret.New(Token), AllowedHosts: []string{"127.0.0.1"}}); err != nil {
		t.Fatal(err)
	}
	return &Env{T: t, RT: rt, M: m}
}

// Load loads a pipeline named t whose steps are src (a YAML list); it is
// closed when the test ends.
func (e *Env) Load(src string) *engine.Pipeline {
	e.T.Helper()
	p, err := engine.Load("test.yaml", []byte("name: t\nsteps:\n"+src), engine.LoadOptions{})
	if err != nil {
		e.T.Fatalf("load: %v", err)
	}
	e.T.Cleanup(func() { p.Close(context.Background()) })
	return p
}

// Run runs p on the JSON message in and returns the output object.
func (e *Env) Run(p *engine.Pipeline, in string) (*value.Object, error) {
	e.T.Helper()
	msg, err := value.DecodeString(in)
	if err != nil {
		e.T.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := p.Run(ctx, e.RT, msg, engine.RunOptions{})
	if err != nil {
		return nil, err
	}
	o, _ := out.(*value.Object)
	return o, nil
}

// MustRun is Run that fails the test on an error.
func (e *Env) MustRun(p *engine.Pipeline, in string) *value.Object {
	e.T.Helper()
	out, err := e.Run(p, in)
	if err != nil {
		e.T.Fatalf("run: %v", err)
	}
	return out
}

// RegisterReadStep registers a connector named name that reads the file a
// reference points at, from inside the execution (its working directory
// is gone once the run ends): the reference comes back with content and
// in_workdir.
func RegisterReadStep(name string) {
	engine.Register(name, "test helper", func(struct{}, *engine.Compiler) (engine.Step, error) {
		return readStep{}, nil
	})
}

type readStep struct{}

func (readStep) Execute(_ context.Context, x *engine.Exec, in any) (any, error) {
	o, _ := in.(*value.Object)
	p, _ := o.Get("path")
	data, err := os.ReadFile(p.(string))
	if err != nil {
		return nil, err
	}
	dir, _ := x.WorkDir()
	out := o.Clone()
	out.Set("content", string(data))
	out.Set("in_workdir", filepath.Dir(p.(string)) == dir)
	return out, nil
}

// Get follows path through nested objects; nil where it stops.
func Get(v any, path ...string) any {
	for _, k := range path {
		o, ok := v.(*value.Object)
		if !ok {
			return nil
		}
		v, _ = o.Get(k)
	}
	return v
}

// Authorized reports whether a fake should serve r: auth decides when set,
// else r must carry the bearer Token.
func Authorized(r *http.Request, auth func(*http.Request) bool) bool {
	if auth != nil {
		return auth(r)
	}
	return r.Header.Get("Authorization") == "Bearer "+Token
}

// GenReader is n bytes of deterministic pseudo-random content, made on
// the fly.
func GenReader(n int64) io.Reader {
	return io.LimitReader(rand.NewChaCha8([32]byte{'n', 'e', 'c', 't', 'a', 'r'}), n)
}

// PeakHeap samples HeapInuse while fn runs and returns the largest value.
func PeakHeap(fn func()) uint64 {
	runtime.GC()
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var ms runtime.MemStats
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	fn()
	close(stop)
	wg.Wait()
	return peak.Load()
}

// LoadErrors loads each step under connector and checks that it fails:
// Step is the connector's options in YAML flow style, Want a part of the
// error.
func LoadErrors(t *testing.T, connector string, tests []struct{ Name, Step, Want string }) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.Name, func(t *testing.T) {
			_, err := engine.Load("t.yaml", []byte("name: t\nsteps:\n  - "+connector+": "+tt.Step+"\n"), engine.LoadOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.Want) {
				t.Fatalf("got %v, want %q", err, tt.Want)
			}
		})
	}
}

// Receive copies r into h (a running checksum), also appending it to
// *data when keep, and returns the number of bytes copied: how a fake
// takes uploaded content without holding large files in memory.
func Receive(h io.Writer, data *[]byte, keep bool, r io.Reader) int64 {
	dst := h
	if keep {
		dst = io.MultiWriter(h, appender{data})
	}
	n, _ := io.Copy(dst, r)
	return n
}

type appender struct{ p *[]byte }

func (a appender) Write(b []byte) (int, error) { *a.p = append(*a.p, b...); return len(b), nil }

// WriteGen writes n bytes of GenReader to big.bin in dir and returns its
// path.
func WriteGen(t testing.TB, dir string, n int64) string {
	t.Helper()
	p := filepath.Join(dir, "big.bin")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(f, GenReader(n)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

// Requests is the log of the requests a fake received, one line each;
// safe for concurrent use.
type Requests struct {
	mu   sync.Mutex
	list []string
}

// Add appends a line to the log.
func (l *Requests) Add(line string) {
	l.mu.Lock()
	l.list = append(l.list, line)
	l.mu.Unlock()
}

// Log returns a copy of the log.
func (l *Requests) Log() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.list...)
}

// Reply writes v as a JSON answer with status and contentType.
func Reply(w http.ResponseWriter, contentType string, status int, v any) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// HostRule checks that a step sends no token to a host that is not its
// account's: for an account of provider (whose API host apiHost must be
// named in the error) and for a bearer account whose base_url is
// pinnedBaseURL, the step that step(account) builds fails with 403 naming
// the host of fakeURL and allowed_hosts, and requests (the fake's log) stays
// empty. load loads a pipeline of that step.
func HostRule(t *testing.T, e *Env, provider, apiHost, pinnedBaseURL, fakeURL string, load func(src string) *engine.Pipeline, step func(account string) string, requests func() []string) {
	t.Helper()
	ctx := context.Background()
	if err := e.M.Put(ctx, &accounts.Account{Name: "viaprovider", Type: accounts.TypeOAuth2, Provider: provider, ClientID: "id"}); err != nil {
		t.Fatal(err)
	}
	if err := e.M.Put(ctx, &accounts.Account{Name: "pinned", Type: accounts.TypeBearer, Token: secret.New(Token), BaseURL: pinnedBaseURL}); err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(strings.TrimPrefix(fakeURL, "http://"), "https://")
	for _, name := range []string{"viaprovider", "pinned"} {
		t.Run(name, func(t *testing.T) {
			_, err := e.Run(load(step(name)), `{}`)
			ee := engine.AsError(err)
			if ee == nil || ee.Code != 403 || !strings.Contains(ee.Message, host) || !strings.Contains(ee.Message, "allowed_hosts") || (name == "viaprovider" && !strings.Contains(ee.Message, apiHost)) {
				t.Fatalf("error %v; want a 403 naming the host and allowed_hosts", err)
			}
		})
	}
	if log := requests(); len(log) != 0 {
		t.Fatalf("the fake got requests: %v", log)
	}
}
