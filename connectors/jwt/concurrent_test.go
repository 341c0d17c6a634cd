package jwt_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/enginetest"
	"github.com/nectar-run/nectar/engine/value"
)

// TestSignConcurrentTokensNeverMix signs tokens from many goroutines at once
// with one step (its buffers come from a pool shared by every sign), each
// with its own claims of a different length, and verifies every token: each
// must carry exactly the claims it was signed with and a valid signature
// (go test -race checks the buffers are never shared while in use).
func TestSignConcurrentTokensNeverMix(t *testing.T) {
	rt, _ := newRuntime(t)
	for _, c := range []struct{ alg, acct string }{{"HS256", "hmac"}, {"HS512", "hmac"}, {"ES256", "ec"}, {"EdDSA", "ed"}, {"RS256", "rsa"}} {
		t.Run(c.alg, func(t *testing.T) {
			p := enginetest.Load(t, fmt.Sprintf(`name: c
steps:
  - jwt:
      operation: sign
      account: %[1]s
      algorithm: %[2]s
      subject: "{{ message.sub }}"
      issued_at: false
      expires_in: 1h
      claims: {n: "{{ message.n }}", pad: "{{ message.pad }}", nested: {l: ["{{ message.sub }}", "{{ message.n }}"]}}
  - jwt: {operation: verify, account: %[1]s, algorithm: %[2]s, token: "{{ message.jws }}", subject: "{{ vars.sub }}"}
`, c.acct, c.alg))
			const goroutines, each = 8, 40
			var wg sync.WaitGroup
			errs := make(chan string, goroutines)
			for g := range goroutines {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range each {
						n := g*1000 + i
						sub := fmt.Sprintf("user-%d", n)
						pad := strings.Repeat(string(rune('a'+g)), (n*37)%1500) // some past the pool's 512 bytes
						in := value.ObjectOf("sub", sub, "n", int64(n), "pad", pad)
						out, err := p.Run(t.Context(), rt, in, runOpts(sub))
						if err != nil {
							errs <- fmt.Sprintf("%s: %v", sub, err)
							return
						}
						want := fmt.Sprintf(`{"sub":%q,"n":%d,"pad":%q,"nested":{"l":[%q,%d]}}`, sub, n, pad, sub, n)
						claims, _ := get(out, "claims").(*value.Object)
						if !claims.Delete("exp") { // the one claim the inputs do not set
							errs <- fmt.Sprintf("%s: no exp in %s", sub, value.MustEncodeString(claims))
							return
						}
						if got := value.MustEncodeString(claims); got != want {
							errs <- fmt.Sprintf("%s: claims %s, want %s", sub, got, want)
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Error(e)
			}
		})
	}
}

func runOpts(sub string) engine.RunOptions {
	return engine.RunOptions{Vars: value.ObjectOf("sub", sub)}
}
