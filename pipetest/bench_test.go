package pipetest_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/nectar-run/nectar/pipetest"
)

// BenchmarkCase runs one test case of a 10-step pipeline with two mocked
// REST steps (goal: under 100 µs a case).
func BenchmarkCase(b *testing.B) {
	dir := writeFiles(b, map[string]string{
		"order.yaml": `name: order
steps:
  - name: customer
    rest: {url: "https://crm.example.com/customers/{{ message.customer }}"}
    to: vars.customer
  - assert: {that: vars.customer.status == 200, status: 502, error: no customer}
  - set: {customer: "{{ vars.customer.body.name }}", qty: "{{ message.qty }}", sku: "{{ message.sku }}"}
  - name: price
    rest: {url: "https://prices.example.com/{{ message.sku }}"}
    to: vars.price
  - set: {total: "{{ message.qty * vars.price.body.amount }}"}
    to: vars.total
  - if: vars.total.total > 100
    log: {message: "big order"}
  - set: {customer: "{{ message.customer }}", total: "{{ vars.total.total }}"}
  - assert: {that: message.total > 0, status: 400, error: empty order}
  - jq: {query: ". + {currency: \"EUR\"}"}
  - set: {order: "{{ message }}"}
`,
		"order.test.yaml": `
cases:
  - name: an order
    input: {customer: c-1, sku: A-1, qty: 3}
    mocks:
      - step: customer
        result: {status: 200, body: {name: Ada}}
      - step: price
        result: {status: 200, body: {amount: 5}}
    expect:
      output: {order: {customer: Ada, total: 15, currency: EUR}}
`})
	s, err := pipetest.LoadFile(filepath.Join(dir, "order.test.yaml"), pipetest.LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if r := pipetest.RunCase(ctx, s, s.Cases[0], pipetest.Options{}); !r.Passed {
			b.Fatal(r.Failures)
		}
	}
}
