// Package triggers holds what trigger modules share with each other and
// with connectors; the kinds themselves are modules in their own packages:
//
//	triggers/http      routes on nectar serve's listener (auth, CORS, limits, respond)
//	triggers/schedule  a cron loop, each tick claimed once across replicas
//	triggers/event     subscriptions on the event bus of package events
//	triggers/all       imports every kind that ships with Nectar
//
// A kind declares itself with engine.RegisterTrigger in init() and compiles
// into an engine.Trigger that a host (package server) starts for each
// pipeline version it serves; see engine.TriggerKind and engine.Host.
// Adding a kind is a new package under triggers/ and one import line in
// triggers/all.
//
// Here: Response, the HTTP answer the respond connector shapes and the http
// trigger writes; CheckEventName, shared by the event connector and the event
// trigger; the runtime service keys the host fills for trigger modules; and
// RunBackground, the run of a trigger that answers nobody (schedule, event).
package triggers

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// ConsumersKey is the engine.Runtime service key of the *consumers.Manager
// that authenticates callers (auth: apikey and basic). The host sets it when
// it has consumers.
type ConsumersKey struct{}

// LimiterKey is the engine.Runtime service key of the *consumers.Limiter
// that every rate limit of the host shares (a consumer's own limit spans
// all its pipelines).
type LimiterKey struct{}

// CutMessage starts the message of an execution a shutdown cancelled
// (engine.Execution.Cut).
const CutMessage = "execution cancelled: the server shut down before it ended (--shutdown-timeout)"

// RunBackground runs one execution that answers nobody (a schedule's tick,
// an event) within timeout, and records it. A run past its timeout fails
// with 504; one cut by a shutdown (or whose ctx ended: an event goes back
// to a shared bus) with 503. kind is the trigger's name; md the metadata
// (metadata.trigger is added); secrets are values its record and log
// lines mask as the credentials of a request (an event's publisher's).
func RunBackground(ctx context.Context, h engine.Host, kind string, input any, md *value.Object, timeout time.Duration, secrets ...string) {
	ctx, cancel := h.Context(ctx, timeout)
	defer cancel()
	x := &engine.Execution{Trigger: kind, Input: input, Metadata: md}
	if len(secrets) > 0 {
		// Copied: the run appends what its steps learn (Learned).
		x.Secrets = slices.Clone(secrets)
	}
	h.Run(ctx, x)
	if e := x.Err; e != nil {
		switch {
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			e.Code = http.StatusGatewayTimeout
		case x.Cut || ctx.Err() != nil:
			// Cut by a shutdown: a schedule's run is not made up; an event
			// goes back to a shared bus and runs again elsewhere.
			e.Code = http.StatusServiceUnavailable
			e.Message = CutMessage + ": " + e.Message
		}
		// The execution's own secrets (what its steps learned: a token
		// signed, the input's sensitive values) are masked as the http
		// trigger's line masks them; the logger masks the runtime's.
		h.Logger().Warn("execution failed", "execution_id", x.ID, "pipeline", h.Pipeline().Name, "trigger", kind, "code", e.Code, "error", engine.MaskSecrets(e.Message, x.Secrets))
	}
	h.Record(x)
}
