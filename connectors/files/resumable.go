package files

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/internal/wait"
)

// Resumable is the chunk loop of a resumable upload session (Drive's
// resumable uploads, Graph's upload sessions): chunks are sent in order;
// after a chunk that failed in a way worth retrying (a 5xx, a 429, a
// broken connection) it waits, asks the session where the upload stands
// and goes on from there; a session that is gone (404) is started again
// once; a provider that keeps answering without taking bytes is given up
// on after Retries. How a chunk is sent and how the status is read stay
// with each connector (Drive's Range header, Graph's nextExpectedRanges).
type Resumable struct {
	Connector string        // the connector's name, for error messages
	Provider  string        // the service's name in messages: Drive, Graph
	Size      int64         // the bytes to send
	Chunk     int64         // the bytes a chunk carries at most
	Retries   int           // failed attempts in a row before giving up
	Backoff   time.Duration // the wait before the first status query, doubled each time
	Logger    *slog.Logger
	StatusLog string // the debug message logged before a status query

	// Restart starts the session again after a 404 (the caller started
	// the first one).
	Restart func() error
	// Put sends n bytes from off and returns the result and done when the
	// upload is complete, else the next offset the session expects.
	Put func(off, n int64) (res any, next int64, done bool, err error)
	// Status asks where the upload stands, answered like Put.
	Status func() (res any, next int64, done bool, err error)
	// Cancel, when set, ends the session when the upload is given up.
	Cancel func()
	// AtOnce, when set, reports errors after which the status is asked at
	// once, without a wait (the service said what it expects).
	AtOnce func(err error) bool
}

// Run sends the chunks and returns Put's or Status's result once done.
func (r *Resumable) Run(ctx context.Context) (any, error) {
	cancel := func() {
		if r.Cancel != nil {
			r.Cancel()
		}
	}
	var off int64
	failures, restarts := 0, 0
	for {
		res, next, done, err := r.Put(off, min(r.Chunk, r.Size-off))
		if err == nil {
			if done {
				return res, nil
			}
			if next > off {
				failures = 0
			} else if failures++; failures > r.Retries {
				cancel()
				return nil, engine.NewError(502, "%s: upload: %s does not take the bytes from %d on", r.Connector, r.Provider, off)
			}
			off = next
			continue
		}
		var e *engine.Error
		if errors.As(err, &e) && e.Code == http.StatusNotFound && restarts == 0 {
			restarts++
			if err = r.Restart(); err != nil {
				return nil, err
			}
			off, failures = 0, 0
			continue
		}
		atOnce := r.AtOnce != nil && r.AtOnce(err)
		if !(atOnce || Retryable(ctx, err)) || failures >= r.Retries {
			cancel()
			return nil, err
		}
		failures++
		r.Logger.Debug(r.StatusLog, "offset", off, "attempt", failures+1, "error", err)
		if !atOnce && !wait.Sleep(ctx, r.Backoff<<(failures-1)) {
			return nil, ctx.Err()
		}
		res, next, done, err = r.Status()
		switch {
		case err != nil && Retryable(ctx, err) && failures < r.Retries:
			continue // send the chunk again from where we were
		case err != nil:
			cancel()
			return nil, err
		case done:
			return res, nil
		}
		off = next
	}
}

// Retryable reports whether a failed chunk may be sent again: a 5xx, a
// 429 or a broken connection, but not an account that cannot get a token.
func Retryable(ctx context.Context, err error) bool {
	var e *engine.Error
	if ctx.Err() != nil || !errors.As(err, &e) || errors.Is(err, accounts.ErrTokenRequest) || errors.Is(err, accounts.ErrNeedsReauthorization) {
		return false
	}
	return e.Code >= 500 || e.Code == http.StatusTooManyRequests
}
