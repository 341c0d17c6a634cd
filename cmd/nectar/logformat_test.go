package main

import (
	"strings"
	"testing"
)

// TestLogFormatHelp reads --log-format in the help of nectar serve, which
// logs JSON, and of nectar run, which logs text: the help says so, and
// does not claim text is serve's default.
func TestLogFormatHelp(t *testing.T) {
	for _, command := range []string{"serve", "run"} {
		t.Run(command, func(t *testing.T) {
			t.Setenv("NECTAR_LOG_FORMAT", "")
			out, errOut, code := nectar(t, "", command, "--help")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var line string
			for _, l := range strings.Split(out, "\n") {
				if strings.Contains(l, "--log-format") {
					line = l
				}
			}
			if !strings.Contains(line, "json for nectar serve") || !strings.Contains(line, "text for the other commands") {
				t.Errorf("--log-format help does not give each command's default: %q", line)
			}
			if strings.Contains(line, `(default "text")`) {
				t.Errorf("--log-format help claims text is the default of every command: %q", line)
			}
		})
	}
}
