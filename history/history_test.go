package history_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nectar-run/nectar/engine/store/bolt"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/history"
)

// TestSnapshotsFromRawText checks that the JSON text of a request is kept as
// it is when nothing in it needs masking, and masked otherwise.
func TestSnapshotsFromRawText(t *testing.T) {
	st, err := bolt.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	r, err := history.New(ctx, st, history.Options{SecretValues: func() []string { return []string{"s3cr3t-value"} }})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, raw, want string
	}{
		{"clean text is kept as written", `{"b": 1, "a": "token is a word in a value"}`, `{"b": 1, "a": "token is a word in a value"}`},
		{"a sensitive key is masked", `{"user":"ada","password":"hunter2"}`, `{"user":"ada","password":"***"}`},
		{"a sensitive key with spaces before the colon", `{"user":"ada","token" : "abc"}`, `{"user":"ada","token":"***"}`},
		{"an escaped key is never trusted", `{"pass\u0077ord":"hunter2"}`, `{"password":"***"}`},
		{"an account secret is masked wherever it is", `{"note":"s3cr3t-value"}`, `{"note":"***"}`},
	}
	ids := make([]string, len(tests))
	for i, tt := range tests {
		v, err := value.DecodeString(tt.raw)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = history.NewID(time.Now())
		r.Record(&history.Execution{ID: ids[i], Trigger: "http", Start: time.Now(), End: time.Now(), Input: v, InputJSON: tt.raw, Output: v})
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
			if got := string(rec.Input); got != tt.want {
				t.Errorf("input snapshot %s, want %s", got, tt.want)
			}
			if strings.Contains(string(rec.Output), "hunter2") || strings.Contains(string(rec.Output), "s3cr3t") {
				t.Errorf("output snapshot leaks: %s", rec.Output)
			}
		})
	}
	r.Close(ctx)
}
