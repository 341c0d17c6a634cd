package respond_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	_ "github.com/nectar-run/nectar/connectors/set"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/triggers"
)

// TestRespondConcurrentShapes runs one pipeline from four goroutines over
// payloads of 1 to 40 keys (either side of the 16 keys member reads scan
// themselves and of the 32 an Object indexes), with the keys read at the
// start, middle or end and in either order, so that the places member reads
// remember (shared by the executions) keep missing; a set step then
// replaces the value those reads walked, and respond takes its status from
// an expression. Every execution must answer its own status and body
// (go test -race checks the shared places).
func TestRespondConcurrentShapes(t *testing.T) {
	yaml := `name: t
steps:
  - set: "{{ message.payload }}"
    to: vars.p
  - set: {code: "{{ vars.p.code }}", v: "{{ vars.p.inner.v ?? 'none' }}", n: "{{ len(vars.p) }}", eq: "{{ CONSTANTTIMEEQUALS(vars.p.code, message.want) }}"}
    to: vars.q
  - set: {inner: "replaced", code: "{{ vars.q.code }}"}
    to: vars.p
  - respond:
      status: "{{ vars.p.code }}"
      body: "{{ [vars.q.v, vars.q.n, vars.q.eq, vars.p.inner, message.payload.k1] }}"
`
	p, err := engine.Load("t.yaml", []byte(yaml), engine.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(n, codeAt int, code int, rev bool) (string, string) {
		var b strings.Builder
		b.WriteString(`{"payload":{`)
		for i := 0; i < n; i++ {
			j := i
			if rev {
				j = n - 1 - i
			}
			if i > 0 {
				b.WriteString(",")
			}
			if i == codeAt {
				fmt.Fprintf(&b, `"code":%d,"inner":{"v":"v%d"},`, code, n)
			}
			fmt.Fprintf(&b, `"k%d":%d`, j, j)
		}
		fmt.Fprintf(&b, `},"want":"%d"}`, code)
		k1 := "null"
		if n > 1 {
			k1 = "1"
		}
		return b.String(), fmt.Sprintf(`["v%d",%d,true,"replaced",%s]`, n, n+2, k1)
	}
	type c struct {
		in, body string
		code     int
	}
	var cases []c
	for _, n := range []int{1, 2, 14, 15, 16, 17, 30, 31, 32, 33, 40} {
		for _, at := range []int{0, n / 2, n - 1} {
			for _, rev := range []bool{false, true} {
				code := 200 + n + at
				in, body := mk(n, at, code, rev)
				cases = append(cases, c{in, body, code})
			}
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 4 {
		wg.Go(func() {
			for i := range 300 {
				tc := cases[(i*7+g*11)%len(cases)]
				in, err := value.DecodeString(tc.in)
				if err != nil {
					errs <- err
					return
				}
				r := triggers.NewResponse(nil)
				ctx := triggers.WithResponse(context.Background(), r)
				if _, err := p.Run(ctx, &engine.Runtime{}, in, engine.RunOptions{}); err != nil {
					errs <- err
					return
				}
				status, _, body, _, _ := r.Get()
				if status != tc.code || string(body) != tc.body {
					errs <- fmt.Errorf("%s: %d %s, want %d %s", tc.in, status, body, tc.code, tc.body)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
