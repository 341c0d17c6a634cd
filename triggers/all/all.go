// Package all registers every trigger kind that ships with Nectar. The
// server and the nectar command import it; the engine never does. A new
// kind is a package under triggers/ and one line here.
package all

import (
	_ "github.com/nectar-run/nectar/triggers/event"
	_ "github.com/nectar-run/nectar/triggers/http"
	_ "github.com/nectar-run/nectar/triggers/schedule"
)
