package triggers

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nectar-run/nectar/engine"
)

// Event holds the options of an event trigger.
type Event struct {
	Name        string          `yaml:"name" required:"true" doc:"the event name the event connector publishes (orders.created); several pipelines may subscribe to one name"`
	Concurrency int             `yaml:"concurrency" default:"4" doc:"runs of this pipeline at once"`
	Queue       int             `yaml:"queue" default:"100" doc:"events waiting for a free run; when full, publishers wait (back-pressure)"`
	Timeout     engine.Duration `yaml:"timeout" default:"30s" doc:"a run fails with 504 when it lasts longer"`
}

func validateEvent(e *Event) error {
	var errs []error
	if err := CheckEventName(e.Name); err != nil {
		errs = append(errs, fmt.Errorf("name: %w", err))
	}
	if e.Concurrency <= 0 {
		errs = append(errs, errors.New("concurrency: must be above 0"))
	}
	if e.Queue < 0 {
		errs = append(errs, errors.New("queue: must be 0 or more"))
	}
	if e.Timeout <= 0 {
		errs = append(errs, errors.New("timeout: must be above 0"))
	}
	return errors.Join(errs...)
}

// CheckEventName reports whether name is a valid event name: letters,
// digits, '.', '-', '_' and ':'.
func CheckEventName(name string) error {
	if name == "" {
		return errors.New("empty event name")
	}
	if i := strings.IndexFunc(name, func(r rune) bool {
		return !(r == '.' || r == '-' || r == '_' || r == ':' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}); i >= 0 {
		return fmt.Errorf("event name %q: %q is not allowed (letters, digits, '.', '-', '_', ':')", name, name[i])
	}
	return nil
}
