package triggers

import (
	"errors"
	"fmt"
	"strings"
)

// CheckEventName reports whether name is a valid event name: letters,
// digits, '.', '-', '_' and ':'. The event connector checks the names it
// publishes with it, the event trigger the names it subscribes to.
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
