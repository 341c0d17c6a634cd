package expression_test

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/nectar-run/nectar/engine/expression"
	"github.com/nectar-run/nectar/engine/value"
)

// TestPathKeysMatchWalk checks the keys-only form of a plain path
// (message.a.b, every step an object key other than "$") against the
// general walk (get at every step) over values of every type at every
// depth: objects, a nil object, null, missing keys, arrays, strings,
// numbers, booleans, "$" and index steps (which take the general form),
// keys that look like numbers. Results and errors must be identical.
func TestPathKeysMatchWalk(t *testing.T) {
	env, srcs := pathCases(t)
	keysOnly := 0
	for _, src := range srcs {
		e, err := expression.Compile(src, expression.Options{})
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		want, werr, ok := e.PathWalk(env)
		if !ok {
			continue
		}
		keysOnly++
		got, gerr := e.Eval(env)
		if fmt.Sprint(gerr) != fmt.Sprint(wrapErr(src, werr)) {
			t.Errorf("%s: error %v, the general walk gives %v", src, gerr, werr)
			continue
		}
		if !reflect.DeepEqual(got, want) || fmt.Sprintf("%T", got) != fmt.Sprintf("%T", want) {
			t.Errorf("%s = %#v, the general walk gives %#v", src, got, want)
		}
	}
	if keysOnly < 1000 {
		t.Fatalf("only %d paths took the keys-only form", keysOnly)
	}
}

// pathCases is an environment with values of every type at every depth,
// and paths over it: every root, one and two keys of a list (objects, a
// nil object, null, missing keys, arrays, strings, numbers, booleans, a Go
// map, "$", index steps, keys that look like numbers), and a third.
func pathCases(t *testing.T) (*expression.Env, []string) {
	msg := mustDecode(t, `{"o":{"k":1,"s":"txt","n":null,"a":[1,{"k":2}],"o":{"k":{"deep":true}},"0":"zero","":"empty"},`+
		`"s":"héllo","i":7,"f":1.5,"t":true,"n":null,"a":[{"k":1},2,"x"],"e":{}}`)
	var nilObj *value.Object
	vars := value.ObjectOf("nilobj", nilObj, "gomap", map[string]any{"k": 1}, "o", value.ObjectOf("k", "v"))
	globals := value.ObjectOf("g", int64(1))
	env := &expression.Env{Message: msg, Vars: vars, Globals: globals, Global: globals, Metadata: value.ObjectOf("m", "x")}
	keys := []string{"o", "k", "s", "n", "a", "e", "i", "f", "t", "missing", "0", "deep", "nilobj", "gomap", "g", "m", "$", "[0]", "[1]", "[-1]"}
	var srcs []string
	for _, root := range []string{"message", "vars", "globals", "global", "metadata"} {
		srcs = append(srcs, root)
		for _, k1 := range keys {
			p1 := step(root, k1)
			srcs = append(srcs, p1)
			for _, k2 := range keys {
				p2 := step(p1, k2)
				srcs = append(srcs, p2, step(p2, "k"), step(p2, "deep"), step(p2, "[0]"))
			}
		}
	}
	return env, srcs
}

func step(p, k string) string {
	if k[0] == '[' {
		return p + k
	}
	if k == "0" || k == "" || k == "$" {
		return p + "[" + fmt.Sprintf("%q", k) + "]"
	}
	return p + "." + k
}

// wrapErr is the error Eval gives for a path's error.
func wrapErr(src string, err error) error {
	if err == nil {
		return nil
	}
	return &expression.EvalError{Source: src, Err: err}
}

// BenchmarkPlainPaths evaluates the plain paths of a token request's
// templates (pipelines/oauth-token.yaml, oauth-grant.yaml), together.
func BenchmarkPlainPaths(b *testing.B) {
	env := &expression.Env{
		Message: mustDecode(b, `{"grant_type":"client_credentials","client_id":"bench-client","client_secret":"s3cret-0123456789","scope":null,"authorization":null}`),
		Vars:    mustDecode(b, `{"client":{"client_id":"bench-client","scope":"profile","secret_sha256":"x"},"grant":{"client_id":"bench-client","scope":"profile","allowed":"profile","fam":"f","gen":0},"access":{"success":true,"jws":"a.b.c"}}`),
		Globals: mustDecode(b, `{"oauth_issuer":"nectar","oauth_access_token_lifetime":3600,"oauth_clients":"oauth-clients"}`),
	}
	var exprs []*expression.Expr
	for _, src := range []string{
		`message.grant_type`, `message.refresh_token`, `message.scope`, `globals.oauth_clients`, `message.client_id`,
		`vars.client.scope`, `globals.oauth_issuer`, `vars.grant.client_id`, `vars.grant.scope`, `vars.grant.fam`,
		`vars.grant.gen`, `vars.access.jws`, `globals.oauth_access_token_lifetime`,
	} {
		e, err := expression.Compile(src, expression.Options{})
		if err != nil {
			b.Fatal(err)
		}
		exprs = append(exprs, e)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, e := range exprs {
			if _, err := e.Eval(env); err != nil {
				b.Fatal(err)
			}
		}
	}
}
