package expression_test

import (
	"testing"

	"github.com/nectar-run/nectar/engine/expression"
)

// BenchmarkFastPath evaluates expressions that take the closure path, one
// per kind of node: arithmetic, ?:, !, ??, string operators and calls.
func BenchmarkFastPath(b *testing.B) {
	env := &expression.Env{Message: mustDecode(b, `{"a":2,"b":3.5,"s":"Abc","t":true,"n":null,"l":[1,2,3]}`)}
	for _, src := range []string{
		`message.a * 3 + 1`,
		`message.b - message.a`,
		`message.t ? message.a : message.b`,
		`!message.t`,
		`message.t && message.a > 1`,
		`message.n ?? message.s`,
		`message.s startsWith "A"`,
		`UPPERCASE(message.s)`,
		`message.l[1:]`,
		`int(NOW() / 1000) + message.a`,
	} {
		e, err := expression.Compile(src, expression.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(src, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.Eval(env); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTokenExpressions evaluates the expressions of a token request
// (pipelines/oauth-grant.yaml's client_credentials path), together: member
// access in compound expressions, calls, ?: and the scope check.
func BenchmarkTokenExpressions(b *testing.B) {
	env := &expression.Env{
		Message: mustDecode(b, `{"grant_type":"client_credentials","client_id":"bench-client","client_secret":"s3cret-0123456789","scope":null,"authorization":null}`),
		Vars:    mustDecode(b, `{"client":{"client_id":"bench-client","scope":"profile","secret_sha256":"x"},"grant":{"client_id":"bench-client","scope":"profile","allowed":"profile","fam":"f","gen":0}}`),
		Globals: mustDecode(b, `{"oauth_issuer":"nectar","oauth_access_token_lifetime":3600,"oauth_clients":"oauth-clients"}`),
	}
	var exprs []*expression.Expr
	for _, src := range []string{
		`message.grant_type == "client_credentials" && ISSTRING(message.client_id) && message.client_id != '' && len(message.client_id) <= 200 && ISSTRING(message.client_secret) && (message.authorization ?? '') == ''`,
		`!CONSTANTTIMEEQUALS(SHA256(message.client_secret), vars.client.secret_sha256)`,
		`(message.scope ?? '') == '' ? vars.client.scope : message.scope`,
		`vars.grant.scope != vars.grant.allowed && (!ISSTRING(vars.grant.scope) || !all(split(vars.grant.scope, ' '), {(' ' + vars.grant.allowed + ' ') contains (' ' + # + ' ')}))`,
		`int(NOW() / 1000) + globals.oauth_access_token_lifetime`,
		`vars.basic != nil ? vars.basic.id : message.client_id`,
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
