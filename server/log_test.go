package server_test

import "github.com/nectar-run/nectar/internal/servertest"

var quietLogger = servertest.QuietLogger
