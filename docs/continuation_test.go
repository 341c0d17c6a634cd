package docs_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestContinuedLines runs a documented command split over lines with a
// backslash, as accounts/README.md has: bash must get it as one command.
func TestContinuedLines(t *testing.T) {
	cmds := commands([]string{
		`printf '%s,' one \`,
		`    two \`,
		`    three  # a comment ends it`,
		`echo next`,
	})
	if len(cmds) != 2 {
		t.Fatalf("%d commands, want 2: %q", len(cmds), cmds)
	}
	out, err := exec.Command("bash", "-c", script(cmds)).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got := strings.Split(string(out), "\n"+endMark+" ")
	if !strings.HasPrefix(got[0], "one,two,three,") || strings.Contains(string(out), "command not found") {
		t.Errorf("the continued lines did not run as one command:\n%s", out)
	}
}
