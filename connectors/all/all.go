// Package all registers every connector that ships with Nectar. The nectar
// command imports it; the engine never does, so an embedding program can pick
// the connectors it wants.
package all

import (
	_ "github.com/nectar-run/nectar/connectors/assert"
	_ "github.com/nectar-run/nectar/connectors/choice"
	_ "github.com/nectar-run/nectar/connectors/dowhile"
	_ "github.com/nectar-run/nectar/connectors/event"
	_ "github.com/nectar-run/nectar/connectors/foreach"
	_ "github.com/nectar-run/nectar/connectors/gdrive"
	_ "github.com/nectar-run/nectar/connectors/jq"
	_ "github.com/nectar-run/nectar/connectors/jwt"
	_ "github.com/nectar-run/nectar/connectors/log"
	_ "github.com/nectar-run/nectar/connectors/objectstore"
	_ "github.com/nectar-run/nectar/connectors/onedrive"
	_ "github.com/nectar-run/nectar/connectors/parallel"
	_ "github.com/nectar-run/nectar/connectors/pipeline"
	_ "github.com/nectar-run/nectar/connectors/respond"
	_ "github.com/nectar-run/nectar/connectors/rest"
	_ "github.com/nectar-run/nectar/connectors/set"
	_ "github.com/nectar-run/nectar/connectors/throw"
	_ "github.com/nectar-run/nectar/connectors/transform"
	_ "github.com/nectar-run/nectar/connectors/try"
	_ "github.com/nectar-run/nectar/connectors/verifykey"
	_ "github.com/nectar-run/nectar/triggers/all"
)
