package triggers

import (
	"errors"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/nectar-run/nectar/engine"
)

// Schedule holds the options of a schedule trigger.
type Schedule struct {
	Cron         string          `yaml:"cron" required:"true" doc:"when to run: six fields, seconds first (0 */5 * * * *), five fields (minutes first), or @every 30s, @hourly, @daily"`
	Timezone     string          `yaml:"timezone" default:"UTC" doc:"IANA time zone the cron fields are read in (Europe/Paris)"`
	AllowOverlap bool            `yaml:"allow_overlap" doc:"start a run while the previous one is still running; by default a tick that comes while a run is in progress is skipped"`
	Timeout      engine.Duration `yaml:"timeout" default:"30s" doc:"a run fails with 504 when it lasts longer"`
	Input        engine.Raw      `yaml:"input" doc:"the message each run starts with (default {})"`

	sched cron.Schedule
}

var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Next returns the first tick strictly after t, in the trigger's time zone.
func (s *Schedule) Next(t time.Time) time.Time { return s.sched.Next(t) }

func validateSchedule(s *Schedule) error {
	var errs []error
	loc, err := time.LoadLocation(s.Timezone)
	if err != nil {
		errs = append(errs, fmt.Errorf("timezone: unknown time zone %q", s.Timezone))
		loc = time.UTC
	}
	sched, err := cronParser.Parse(s.Cron)
	if err != nil {
		errs = append(errs, fmt.Errorf("cron: %w", err))
	} else {
		switch c := sched.(type) {
		case *cron.SpecSchedule:
			c.Location = loc
		case cron.ConstantDelaySchedule:
			sched = alignedEvery{c.Delay}
		}
		s.sched = sched
	}
	if s.Timeout <= 0 {
		errs = append(errs, errors.New("timeout: must be above 0"))
	}
	return errors.Join(errs...)
}

// alignedEvery is an @every schedule whose ticks are multiples of the delay
// since the zero time, rather than counted from when a process started:
// replicas sharing a store then compute the same ticks, and claim each
// once (robfig/cron's ConstantDelaySchedule counts from its argument).
type alignedEvery struct{ d time.Duration }

func (a alignedEvery) Next(t time.Time) time.Time { return t.Truncate(a.d).Add(a.d) }
