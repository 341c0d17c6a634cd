package jq_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/itchyny/gojq"

	_ "github.com/nectar-run/nectar/connectors/all"
	"github.com/nectar-run/nectar/connectors/jq"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/enginetest"
	"github.com/nectar-run/nectar/engine/value"
)

func TestJQ(t *testing.T) {
	tests := []struct {
		name, pipeline, input, want, wantErr string
		vars                                 string
	}{
		{
			name:     "a filter over the message",
			pipeline: "steps:\n  - jq: {query: '.items | map(.price * .qty) | add'}\n",
			input:    `{"items":[{"price":2,"qty":3},{"price":1.5,"qty":2}]}`, want: `9.0`,
		},
		{
			name:     "objects jq builds have sorted keys",
			pipeline: "steps:\n  - jq: {query: '{z: .a, a: .b}'}\n",
			input:    `{"a":1,"b":2}`, want: `{"a":2,"z":1}`,
		},
		{
			name:     "integers stay integers, big ones exact",
			pipeline: "steps:\n  - jq: {query: '[.n, .n + 1, .big, .f]'}\n",
			input:    `{"n":3600000,"big":123456789012345678901234,"f":2.5}`, want: `[3600000,3600001,123456789012345678901234,2.5]`,
		},
		{
			name:     "$vars, $globals and $metadata are in scope",
			pipeline: "globals: {region: eu}\nsteps:\n  - jq: {query: '{v: $vars.tenant, g: $globals.region, p: $metadata.pipeline, id: $metadata.execution_id}'}\n",
			input:    `{}`, vars: `{"tenant":"acme"}`, want: `{"g":"eu","id":"exec-1","p":"test","v":"acme"}`,
		},
		{
			name:     "no result gives null",
			pipeline: "steps:\n  - jq: {query: '.items[] | select(.qty > 100)'}\n",
			input:    `{"items":[{"qty":1}]}`, want: `null`,
		},
		{
			name:     "halt gives null",
			pipeline: "steps:\n  - jq: {query: 'halt'}\n",
			input:    `{"a":1}`, want: `null`,
		},
		{
			name:     "several results are an error",
			pipeline: "steps:\n  - name: explode\n    jq: {query: '.items[]'}\n",
			input:    `{"items":[1,2]}`, wantErr: "test: step explode: 500: jq: the program gave more than one result; wrap it in [ ] to collect them",
		},
		{
			name:     "several results collected in [ ]",
			pipeline: "steps:\n  - jq: {query: '[.items[] | . * 2]'}\n",
			input:    `{"items":[1,2]}`, want: `[2,4]`,
		},
		{
			name:     "a runtime error",
			pipeline: "steps:\n  - jq: {query: '.a + 1'}\n",
			input:    `{"a":"x"}`, wantErr: `500: jq: cannot add: string ("x") and number (1)`,
		},
		{
			name:     "error() with a message",
			pipeline: "steps:\n  - jq: {query: 'if .ok then . else error(\"not ok\") end'}\n",
			input:    `{"ok":false}`, wantErr: "500: jq: error: not ok",
		},
		{
			name:     "from gives jq part of the message, to puts the result back",
			pipeline: "steps:\n  - jq: {query: 'length'}\n    from: message.items\n    to: message.count\n",
			input:    `{"items":[1,2,3]}`, want: `{"items":[1,2,3],"count":3}`,
		},
		{
			name:     "a scalar message",
			pipeline: "steps:\n  - jq: {query: 'ascii_upcase'}\n",
			input:    `"abc"`, want: `"ABC"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := enginetest.Load(t, "name: test\n"+tt.pipeline)
			opts := engine.RunOptions{ExecutionID: "exec-1"}
			if tt.vars != "" {
				opts.Vars = enginetest.Decode(t, tt.vars).(*value.Object)
			}
			got, err := enginetest.RunWith(context.Background(), t, p, nil, tt.input, opts)
			enginetest.Want(t, got, err, tt.want, tt.wantErr)
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"syntax error points at the token", "name: test\nsteps:\n  - jq: {query: '.a | map(.b'}\n", "test.yaml:3:29: steps[0].jq.query: jq: unexpected EOF"},
		{"syntax error in a block", "name: test\nsteps:\n  - jq:\n      query: |\n        .items\n        | map(.price +)\n", "test.yaml:6:23: steps[0].jq.query: jq: unexpected token \")\""},
		{"undefined variable", "name: test\nsteps:\n  - jq: {query: '$nope'}\n", "steps[0].jq.query: jq: variable not defined: $nope"},
		{"missing query", "name: test\nsteps:\n  - jq: {}\n", `steps[0].jq: missing required option "query"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enginetest.WantLoadError(t, "test.yaml", tt.src, tt.want)
		})
	}
}

// TestTimeoutStopsAProgram proves that a long program stops at the step's
// timeout: gojq runs with the step's context.
func TestTimeoutStopsAProgram(t *testing.T) {
	p := enginetest.Load(t, "name: test\nsteps:\n  - jq: {query: 'last(range(1e15))'}\n    timeout: 20ms\n")
	_, err := p.Run(context.Background(), nil, value.NewObject(0), engine.RunOptions{})
	if e := engine.AsError(err); e == nil || e.Code != 504 {
		t.Fatalf("got %v, want a 504", err)
	}
}

func TestConcurrentRuns(t *testing.T) {
	p := enginetest.Load(t, "name: test\nsteps:\n  - jq: {query: '{n: (.n * 2), v: $vars.k}'}\n")
	done := make(chan error, 16)
	for i := 0; i < 16; i++ {
		go func(i int) {
			vars := value.ObjectOf("k", int64(i))
			out, err := p.Run(context.Background(), nil, value.ObjectOf("n", int64(i)), engine.RunOptions{Vars: vars})
			if err == nil && value.MustEncodeString(out) != fmt.Sprintf(`{"n":%d,"v":%d}`, 2*i, i) {
				err = fmt.Errorf("run %d got %s", i, value.MustEncodeString(out))
			}
			done <- err
		}(i)
	}
	for i := 0; i < 16; i++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

func TestConversions(t *testing.T) {
	in := enginetest.Decode(t, `{"b":[1,2.5,"x",null,true],"a":{"n":18446744073709551615}}`)
	got := value.MustEncodeString(jq.FromJQ(jq.ToJQ(in)))
	if want := `{"a":{"n":18446744073709551615},"b":[1,2.5,"x",null,true]}`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestExample(t *testing.T) {
	enginetest.RunExample(t, ".", enginetest.Example{})
}

// Example totals an order with jq, reading a tax rate from the pipeline's
// globals.
func Example() {
	p, err := engine.Load("total.yaml", []byte(`
name: total
globals: {tax: 0.2}
steps:
  - jq:
      query: |
        (.lines | map(.price * .qty) | add) as $net
        | {id, net: $net, gross: ($net * (1 + $globals.tax))}
`), engine.LoadOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	in, _ := value.DecodeString(`{"id":"A-1","lines":[{"price":10,"qty":2},{"price":5,"qty":1}]}`)
	out, err := p.Run(context.Background(), nil, in, engine.RunOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(value.MustEncodeString(out))
	// Output: {"gross":30.0,"id":"A-1","net":25}
}

func order1KB(tb testing.TB) any {
	var b strings.Builder
	b.WriteString(`{"id":"A-1","customer":{"name":"Ada","email":"ada@example.com"},"items":[`)
	for i := 0; i < 12; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"sku":"SKU-%04d","name":"item %d","price":%d.5,"qty":%d}`, i, i, i+1, i%3+1)
	}
	b.WriteString(`]}`)
	return enginetest.Decode(tb, b.String())
}

// BenchmarkJQ1KB runs a jq step over a 1 KB order in a one-step pipeline,
// next to gojq called directly on the same (pre-converted) data: the
// difference is the conversion to and from gojq's values and the pipeline.
func BenchmarkJQ1KB(b *testing.B) {
	const query = ".items | map(.price * .qty) | add"
	in := order1KB(b)
	b.Run("step", func(b *testing.B) {
		p := enginetest.Load(b, "name: bench\nsteps:\n  - jq: {query: '"+query+"'}\n")
		rt := &engine.Runtime{}
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := p.Run(ctx, rt, in, engine.RunOptions{ExecutionID: "bench"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gojq", func(b *testing.B) {
		q, err := gojq.Parse(query)
		if err != nil {
			b.Fatal(err)
		}
		code, err := gojq.Compile(q)
		if err != nil {
			b.Fatal(err)
		}
		data := jq.ToJQ(in)
		b.ReportAllocs()
		for b.Loop() {
			iter := code.Run(data)
			if v, _ := iter.Next(); v == nil {
				b.Fatal("no result")
			}
		}
	})
}
