package http_test

import (
	"strings"
	"testing"

	_ "github.com/nectar-run/nectar/connectors/set"
	"github.com/nectar-run/nectar/engine"
	_ "github.com/nectar-run/nectar/triggers/http"
)

// TestCORSCredentialsNeedOrigins loads http triggers whose cors block sends
// credentials. With any origin (*, the default) a page of any site could
// send the user's cookies and read the answer, so that is a load error at
// the option, with file, line and column; so is origin "null" (any site
// can send it from a sandboxed iframe), at the entry. An entry that is not
// an origin (a wildcard, a path, no scheme) would never match: a load error
// at the entry. Listed origins load.
func TestCORSCredentialsNeedOrigins(t *testing.T) {
	const nullMsg = `origin "null" cannot be used with allow_credentials: any site can send Origin: null (from a sandboxed iframe) and would then send requests with the user's cookies and read the answers`
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
		{"credentials with origin null", "{origins: [https://app.example, 'null'], allow_credentials: true}",
			[]string{`f.yaml:4:43: trigger.http.cors.origins[1]: ` + nullMsg}},
		{"origin null without credentials", "{origins: ['null']}", nil},
		{"a wildcard origin", "{origins: ['https://*.example.com']}",
			[]string{`f.yaml:4:22: trigger.http.cors.origins[0]: "https://*.example.com": wildcard origins are not supported (they would never match); list each origin, as in https://app.example.com`}},
		{"an origin with a trailing slash, one without a scheme", "{origins: ['https://app.example/', app.example]}",
			[]string{
				`f.yaml:4:22: trigger.http.cors.origins[0]: "https://app.example/": an origin is scheme://host[:port] only, without a path, a trailing slash or a query (it would never match)`,
				`f.yaml:4:46: trigger.http.cors.origins[1]: "app.example" is not an origin: write scheme://host[:port], as in https://app.example.com`,
			}},
		{"origins with ports", "{origins: ['https://app.example:8443', 'http://127.0.0.1:3000'], allow_credentials: true}", nil},
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

// TestEveryProblemAtItsOption loads an http trigger with several bad
// options: each problem is reported at its own option's line and column,
// the second and later ones too (they were all reported at the trigger's
// block, where only the first option happens to be).
func TestEveryProblemAtItsOption(t *testing.T) {
	src := "name: a\ntrigger:\n  http:\n    path: nope\n    methods: [GET, FOO]\n    max_body: lots\n    auth: [none, apikey]\nsteps:\n  - set: {a: 1}\n"
	_, err := engine.Load("f.yaml", []byte(src), engine.LoadOptions{})
	var got []string
	for _, le := range engine.LoadErrors(err) {
		got = append(got, le.Error())
	}
	want := []string{
		`f.yaml:4:11: trigger.http.path: "nope" must start with /`,
		`f.yaml:5:20: trigger.http.methods[1]: "FOO" is not an HTTP method`,
		`f.yaml:6:15: trigger.http.max_body: expected a size like 5MB, 512KiB or a number of bytes, got "lots"`,
		`f.yaml:7:11: trigger.http.auth: none cannot be combined with other modes`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
