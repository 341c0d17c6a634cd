package engine_test

import (
	"context"
	"strings"
	"testing"

	_ "github.com/nectar-run/nectar/connectors/all"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/enginetest"
)

// TestInterceptAnswersInsteadOfTheConnector: a runtime's Intercept sees
// every step (x.Step names it) inside the step's retries, and a step it
// handles does not run its connector; SkipRetryWait makes a 1-hour backoff
// take no time.
func TestInterceptAnswersInsteadOfTheConnector(t *testing.T) {
	p := enginetest.Load(t, `name: p
steps:
  - name: flaky
    throw: {status: 503, error: the connector ran}
    retry: {attempts: 3, backoff: 1h}
  - name: real
    set: {seen: "{{ message.n }}"}
`)
	var seen []string
	calls := 0
	rt := &engine.Runtime{SkipRetryWait: true, Intercept: func(ctx context.Context, x *engine.Exec, in any) (any, error, bool) {
		seen = append(seen, x.Step().Step)
		if x.Step().Step != "flaky" {
			return nil, nil, false
		}
		calls++
		if calls < 3 {
			return nil, engine.NewError(503, "busy"), true
		}
		return enginetest.Decode(t, `{"n":3}`), nil, true
	}}
	out, err := enginetest.RunWith(context.Background(), t, p, rt, `{}`, engine.RunOptions{})
	if err != nil || out != `{"seen":3}` {
		t.Fatalf("got %s, %v", out, err)
	}
	if strings.Join(seen, ",") != "flaky,flaky,flaky,real" {
		t.Errorf("intercepted %q", seen)
	}
}
