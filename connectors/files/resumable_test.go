package files_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/connectors/files"
	"github.com/nectar-run/nectar/engine"
)

// session is a scripted upload session: each Put or Status takes the next
// answer; an answer with code 0 takes the bytes sent.
type session struct {
	answers          []int // the status of each call in turn (0: ok)
	calls, restarts  int
	cancelled        bool
	received, status int64
}

func (s *session) next() int {
	if s.calls >= len(s.answers) {
		return 0
	}
	c := s.answers[s.calls]
	s.calls++
	return c
}

func (s *session) resumable(size int64, atOnce bool) *files.Resumable {
	r := &files.Resumable{
		Connector: "test", Provider: "Test", Size: size, Chunk: 4, Retries: 2,
		Logger: slog.New(slog.DiscardHandler), StatusLog: "asking",
		Restart: func() error { s.restarts++; s.received = 0; return nil },
		Put: func(off, n int64) (any, int64, bool, error) {
			if c := s.next(); c != 0 {
				return nil, 0, false, engine.NewError(c, "put failed")
			}
			s.received = off + n
			return "done", s.received, s.received == size, nil
		},
		Status: func() (any, int64, bool, error) {
			if c := s.next(); c != 0 {
				return nil, 0, false, engine.NewError(c, "status failed")
			}
			return "done", s.received, s.received == size, nil
		},
		Cancel: func() { s.cancelled = true },
	}
	if atOnce {
		r.AtOnce = func(err error) bool { return engine.AsError(err).Code == 416 }
	}
	return r
}

func TestResumable(t *testing.T) {
	tests := []struct {
		name          string
		answers       []int
		atOnce        bool
		wantErr       string
		wantRestarts  int
		wantCancelled bool
	}{
		{name: "all chunks taken", answers: nil},
		{name: "a failed chunk is resumed from the status", answers: []int{0, 503, 0}},
		{name: "a gone session is started again once", answers: []int{0, 404}, wantRestarts: 1},
		{name: "a second 404 is an error", answers: []int{404, 404}, wantErr: "put failed", wantRestarts: 1, wantCancelled: true},
		{name: "a 4xx is not retried", answers: []int{400}, wantErr: "put failed", wantCancelled: true},
		{name: "retries run out", answers: []int{503, 0, 503, 0, 503}, wantErr: "put failed", wantCancelled: true},
		{name: "a status error ends it", answers: []int{503, 400}, wantErr: "status failed", wantCancelled: true},
		{name: "an error asked about at once", answers: []int{416, 0}, atOnce: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &session{answers: tt.answers}
			res, err := s.resumable(10, tt.atOnce).Run(context.Background())
			if tt.wantErr == "" && (err != nil || res != "done") {
				t.Fatalf("got %v, %v", res, err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("got %v, want %q", err, tt.wantErr)
			}
			if s.restarts != tt.wantRestarts || s.cancelled != tt.wantCancelled {
				t.Fatalf("restarts %d cancelled %v", s.restarts, s.cancelled)
			}
		})
	}
}

func TestResumableGivesUpWhenNoBytesAreTaken(t *testing.T) {
	r := &files.Resumable{
		Connector: "test", Provider: "Test", Size: 10, Chunk: 4, Retries: 2,
		Logger: slog.New(slog.DiscardHandler),
		Put:    func(off, n int64) (any, int64, bool, error) { return nil, off, false, nil },
	}
	_, err := r.Run(context.Background())
	if e := engine.AsError(err); e == nil || e.Code != 502 || !strings.Contains(e.Message, "test: upload: Test does not take the bytes from 0 on") {
		t.Fatalf("got %v", err)
	}
}
