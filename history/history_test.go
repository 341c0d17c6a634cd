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

// TestSegments writes records in several batches and reads each back, lists
// them newest first across segments, and trims whole segments.
func TestSegments(t *testing.T) {
	dir := t.TempDir()
	st, err := bolt.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r, err := history.New(ctx, st, history.Options{MaxRecords: 40})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	start := time.Now().Add(-time.Hour)
	for batch := 0; batch < 5; batch++ {
		for i := 0; i < 10; i++ {
			at := start.Add(time.Duration(batch*10+i) * time.Second)
			id := history.NewID(at)
			ids = append(ids, id)
			pipeline := "even"
			if i%2 == 1 {
				pipeline = "odd"
			}
			r.Record(&history.Execution{ID: id, Pipeline: nil, Trigger: pipeline, Start: at, End: at.Add(time.Millisecond), Input: value.ObjectOf("n", int64(batch*10+i))})
		}
		if err := r.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// 50 records with MaxRecords 40: trimming starts above 44, by whole segments.
	recs, err := history.List(ctx, st, history.Filter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 40 || recs[0].ID != ids[49] || recs[39].ID != ids[10] {
		t.Fatalf("listed %d records, first %s last %s; want 40 from %s down to %s", len(recs), recs[0].ID, recs[len(recs)-1].ID, ids[49], ids[10])
	}
	for i := 1; i < len(recs); i++ {
		if recs[i].ID >= recs[i-1].ID {
			t.Fatalf("not newest first at %d", i)
		}
	}
	if _, err := history.Get(ctx, st, ids[3]); err == nil {
		t.Errorf("a trimmed record is still there")
	}
	for _, id := range ids[10:] {
		rec, err := history.Get(ctx, st, id)
		if err != nil || rec.ID != id {
			t.Fatalf("get %s: %v", id, err)
		}
	}
	page, err := history.List(ctx, st, history.Filter{Trigger: "odd", Before: ids[30], Limit: 3})
	if err != nil || len(page) != 3 || page[0].ID != ids[29] || page[2].ID != ids[25] {
		t.Fatalf("filtered page: %v %v", page, err)
	}
	r.Close(ctx)
	st.Close()
	// The count survives a restart: no trim until the history grows again.
	st, err = bolt.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r, err = history.New(ctx, st, history.Options{MaxRecords: 40})
	if err != nil {
		t.Fatal(err)
	}
	r.Record(&history.Execution{ID: history.NewID(time.Now()), Trigger: "x", Start: time.Now(), End: time.Now()})
	r.Close(ctx)
	recs, _ = history.List(ctx, st, history.Filter{Limit: 100})
	if len(recs) != 41 {
		t.Fatalf("after restart: %d records, want 41", len(recs))
	}
}
