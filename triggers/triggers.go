// Package triggers declares the trigger kinds a pipeline file may use — http,
// schedule and event — so that the loader validates a pipeline's trigger block
// (`nectar validate`, `nectar schema`) without starting anything. Serving them
// is the job of package server (`nectar serve`); the event connector and the
// event trigger meet on the bus of package events.
//
// A pipeline has at most one trigger:
//
//	trigger:
//	  http: {path: /customers/{id}, methods: [GET], auth: apikey}
//
//	trigger:
//	  schedule: {cron: "0 */5 * * * *", timezone: Europe/Paris}
//
//	trigger:
//	  event: orders.created
//
// The configuration types are exported so that the server reads the decoded
// options from engine.Pipeline.Trigger.Config (a *HTTP, *Schedule or *Event).
package triggers

import (
	"github.com/nectar-run/nectar/engine"
)

func init() {
	engine.RegisterTrigger(engine.TriggerKind[HTTP]{
		Name:     "http",
		Summary:  "Runs the pipeline for each HTTP request on a path; the final message is the response.",
		Validate: validateHTTP,
	})
	engine.RegisterTrigger(engine.TriggerKind[Schedule]{
		Name:     "schedule",
		Summary:  "Runs the pipeline on a cron schedule (seconds first) in a time zone.",
		Validate: validateSchedule,
	})
	engine.RegisterTrigger(engine.TriggerKind[Event]{
		Name:     "event",
		Summary:  "Runs the pipeline, asynchronously, for each event of a name published by the event connector.",
		Validate: validateEvent,
	})
}
