package history_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/history"
)

// TestOutputsSensitiveValuesMaskedInTheInput: a value the client sent
// under a plain key that the pipeline's output holds under a sensitive
// name (a JOLT shift of "pw" to "password") is masked in the record's
// input too, as the input's sensitive values are masked in the output and
// as the steps' snapshots already masked it. Before, the record's input
// kept it in clear.
func TestOutputsSensitiveValuesMaskedInTheInput(t *testing.T) {
	st := tempStore(t)
	ctx := context.Background()
	r := newRecorder(t, st, history.Options{})
	p := &engine.Pipeline{Name: "p"}
	tests := []struct{ name, in, out, secret string }{
		{"moved under a sensitive name", `{"user":"ada","pw":"hunter2-long-value"}`, `{"user":"ada","password":"hunter2-long-value"}`, "hunter2-long-value"},
		{"nested and in a list", `{"a":[{"x":"tok-0123456789abcdef"}]}`, `{"creds":{"access_token":"tok-0123456789abcdef"}}`, "tok-0123456789abcdef"},
		{"inside a longer string of the input", `{"note":"my key is key-0123456789 ok"}`, `{"api_key":"key-0123456789"}`, "key-0123456789"},
	}
	ids := make([]string, len(tests))
	for i, tt := range tests {
		in, err := value.DecodeString(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		out, err := value.DecodeString(tt.out)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = history.NewID(time.Now())
		r.Record(&history.Execution{ID: ids[i], Pipeline: p, Trigger: "http", Start: time.Now(), End: time.Now(),
			Input: in, InputJSON: tt.in, Output: out, OutputJSON: tt.out})
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := history.Get(ctx, st, ids[i])
			if err != nil {
				t.Fatal(err)
			}
			secret := tt.secret
			for part, got := range map[string]string{"input": string(rec.Input), "output": string(rec.Output)} {
				if strings.Contains(got, secret) {
					t.Errorf("the record's %s holds %q: %s", part, secret, got)
				}
			}
			if !strings.Contains(string(rec.Input), `***`) {
				t.Errorf("the record's input masks nothing: %s", rec.Input)
			}
		})
	}
}
