package triggers_test

import (
	"strings"
	"testing"

	_ "github.com/nectar-run/nectar/connectors/set"
	"github.com/nectar-run/nectar/engine"
	_ "github.com/nectar-run/nectar/triggers"
)

// TestCORSCredentialsNeedOrigins loads http triggers whose cors block sends
// credentials. With any origin (*, the default) a page of any site could
// send the user's cookies and read the answer, so that is a load error at
// the option, with file, line and column; listed origins load.
func TestCORSCredentialsNeedOrigins(t *testing.T) {
	const msg = "credentials need the allowed origins listed (origins: [https://app.example]), not *: any site could then send requests with the user's cookies and read the answers"
	tests := []struct {
		name, cors string
		want       []string // every problem, exactly; none: it loads
	}{
		{"credentials with the default origins", "{allow_credentials: true}",
			[]string{`f.yaml:4:31: trigger.http.cors.allow_credentials: ` + msg}},
		{"credentials with origins *", "{origins: ['*'], allow_credentials: true}",
			[]string{`f.yaml:4:47: trigger.http.cors.allow_credentials: ` + msg}},
		{"credentials with * among listed origins", "{origins: [https://app.example, '*'], allow_credentials: true}",
			[]string{`f.yaml:4:68: trigger.http.cors.allow_credentials: ` + msg}},
		{"credentials with listed origins", "{origins: [https://app.example], allow_credentials: true}", nil},
		{"any origin without credentials", "{origins: ['*']}", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "name: a\ntrigger:\n  http:\n    cors: " + tt.cors + "\n    path: /a\nsteps:\n  - set: {a: 1}\n"
			_, err := engine.Load("f.yaml", []byte(src), engine.LoadOptions{})
			var got []string
			for _, le := range engine.LoadErrors(err) {
				got = append(got, le.Error())
			}
			if err != nil && len(got) == 0 {
				got = []string{err.Error()}
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
