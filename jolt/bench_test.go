package jolt_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/itchyny/gojq"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/jolt"
)

// The benchmarks run each transform as JOLT and as the equivalent jq program
// on gojq (compiled once, run on the same data converted with value.ToGo), as
// sub-benchmarks of one run, so that the ratio is read from the same machine state.

// orderJSON is one order message of about 650 bytes; seq varies its values.
func orderJSON(seq int) string {
	return fmt.Sprintf(`{"id":"ord-%05d","status":"NEW","createdAt":"2025-03-0%dT10:15:00Z","channel":null,
"customer":{"id":%d,"name":"Customer Number %d","email":"customer%d@example.com","phone":"+31 20 555 %04d",
"address":{"street":"Keizersgracht %d","city":"Amsterdam","zip":"1015 CJ","country":"NL"}},
"items":[{"sku":"SKU-%d-A","qty":2,"price":19.95},{"sku":"SKU-%d-B","qty":1,"price":5.5},{"sku":"SKU-%d-C","qty":3,"price":1.25}],
"totals":{"net":49.15,"tax":10.32,"gross":59.47,"currency":"EUR"},"notes":"Leave the parcel with the neighbours if nobody is home."}`,
		seq, seq%9+1, 1000+seq, seq, seq, seq%10000, seq%300, seq, seq, seq)
}

func mustDecode(tb testing.TB, s string) any {
	tb.Helper()
	v, err := value.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

func mustJQ(tb testing.TB, q string) *gojq.Code {
	tb.Helper()
	p, err := gojq.Parse(q)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := gojq.Compile(p)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func runJQ(b *testing.B, code *gojq.Code, in any) {
	b.ReportAllocs()
	for b.Loop() {
		it := code.Run(in)
		v, ok := it.Next()
		if !ok {
			b.Fatal("no output")
		}
		if err, isErr := v.(error); isErr {
			b.Fatal(err)
		}
	}
}

func runJOLT(b *testing.B, tr *jolt.Transform, in any) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tr.Apply(in, nil); err != nil {
			b.Fatal(err)
		}
	}
}

const shift1KBSpec = `{
  "id": "orderId",
  "status": "state",
  "createdAt": "created",
  "customer": {
    "id": "buyer.id",
    "name": "buyer.name",
    "email": "buyer.contact.email",
    "phone": "buyer.contact.phone",
    "address": {"street": "shipTo.line1", "city": "shipTo.city", "zip": "shipTo.postcode", "country": "shipTo.country"}
  },
  "items": {"*": {"sku": "lines[&1].sku", "qty": "lines[&1].quantity", "price": "lines[&1].unitPrice"}},
  "totals": {"net": "amount.net", "tax": "amount.tax", "gross": "amount.total", "currency": "amount.currency"},
  "notes": "comment"
}`

const shift1KBJQ = `{orderId: .id, state: .status, created: .createdAt,
  buyer: {id: .customer.id, name: .customer.name, contact: {email: .customer.email, phone: .customer.phone}},
  shipTo: {line1: .customer.address.street, city: .customer.address.city, postcode: .customer.address.zip, country: .customer.address.country},
  lines: [.items[] | {sku: .sku, quantity: .qty, unitPrice: .price}],
  amount: {net: .totals.net, tax: .totals.tax, total: .totals.gross, currency: .totals.currency},
  comment: .notes}`

// BenchmarkShift1KB shifts about 20 fields of a 1 KB order.
func BenchmarkShift1KB(b *testing.B) {
	src := orderJSON(1)
	in := mustDecode(b, src)
	tr, err := jolt.Compile("shift", mustDecode(b, shift1KBSpec))
	if err != nil {
		b.Fatal(err)
	}
	code := mustJQ(b, shift1KBJQ)
	goIn := value.ToGo(in)
	checkSame(b, tr, in, code, goIn)
	b.Logf("message: %d bytes", len(src))
	b.Run("jolt", func(b *testing.B) { runJOLT(b, tr, in) })
	b.Run("gojq", func(b *testing.B) { runJQ(b, code, goIn) })
}

const chainSpec = `[
  {"operation": "shift", "spec": {"orders": {"*": {
    "id": "orders[&1].orderId",
    "status": "orders[&1].state",
    "channel": "orders[&1].channel",
    "customer": {"name": "orders[&2].buyer", "email": "orders[&2].email"},
    "items": {"*": {"sku": "orders[&3].lines[&1].sku", "qty": "orders[&3].lines[&1].qty", "price": "orders[&3].lines[&1].price"}},
    "totals": {"gross": "orders[&2].total", "currency": "orders[&2].currency"}
  }}}},
  {"operation": "default", "spec": {"orders[]": {"*": {"channel": "web", "priority": 0, "state": "NEW"}}}},
  {"operation": "modify-overwrite-beta", "spec": {"orders": {"*": {
    "state": "=toLower",
    "buyer": "=toUpper",
    "lineCount": "=size(@(1,lines))",
    "total": "=toString"
  }}}}
]`

const chainJQ = `{orders: [.orders[] | {orderId: .id, state: .status, channel: .channel, buyer: .customer.name, email: .customer.email,
    lines: [.items[] | {sku: .sku, qty: .qty, price: .price}], total: .totals.gross, currency: .totals.currency}
  | .channel //= "web" | .priority //= 0 | .state //= "NEW"
  | .state |= ascii_downcase | .buyer |= ascii_upcase | .lineCount = (.lines | length) | .total |= tostring]}`

// BenchmarkChain100KB runs shift, default and modify-overwrite-beta over a
// 100 KB message of 150 orders.
func BenchmarkChain100KB(b *testing.B) {
	parts := make([]string, 150)
	for i := range parts {
		parts[i] = orderJSON(i)
	}
	src := `{"orders":[` + strings.Join(parts, ",") + `]}`
	in := mustDecode(b, src)
	tr, err := jolt.CompileChain(mustDecode(b, chainSpec))
	if err != nil {
		b.Fatal(err)
	}
	code := mustJQ(b, chainJQ)
	goIn := value.ToGo(in)
	checkSame(b, tr, in, code, goIn)
	b.Logf("message: %d bytes", len(src))
	b.Run("jolt", func(b *testing.B) { runJOLT(b, tr, in) })
	b.Run("gojq", func(b *testing.B) { runJQ(b, code, goIn) })
}

// checkSame makes sure both programs compute the same thing, so that the
// comparison is fair.
func checkSame(tb testing.TB, tr *jolt.Transform, in any, code *gojq.Code, goIn any) {
	tb.Helper()
	got, err := tr.Apply(in, nil)
	if err != nil {
		tb.Fatal(err)
	}
	v, _ := code.Run(goIn).Next()
	if e, ok := v.(error); ok {
		tb.Fatal(e)
	}
	if want := fromJQ(v); !value.Equal(got, want) {
		tb.Fatalf("jolt and jq disagree:\njolt: %.600s\n  jq: %.600s", value.MustEncodeString(got), value.MustEncodeString(want))
	}
}

// fromJQ converts gojq output to the value model. (value.FromGo keeps maps
// nested in a []any unconverted, so it cannot be used here.)
func fromJQ(v any) any {
	switch t := v.(type) {
	case map[string]any:
		o := value.NewObject(len(t))
		for _, k := range sortedKeys(t) {
			o.Set(k, fromJQ(t[k]))
		}
		return o
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = fromJQ(x)
		}
		return out
	}
	return value.FromGo(v)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// renameRestSpec is the shift of ../shared/limits/ratio.sh transform: five
// renames, every other key copied as it is.
const renameRestSpec = `{"id":"customerId","first_name":"firstName","last_name":"lastName","email":"emailAddress","phone":"phoneNumber","*":"&"}`

// customerJSON is the ~1 KB record ratio.sh sends.
const customerJSON = `{"id":"c-000184223","first_name":"Margarethe","last_name":"Villanueva-Okonkwo","email":"m.villanueva.okonkwo@example.com","phone":"+44 20 7946 0958","created_at":"2023-04-18T09:27:41Z","status":"active","tier":"gold","marketing_opt_in":true,"lifetime_value":18422.75,"credit_limit":25000,"tags":["wholesale","priority","eu-vat","net-30"],"address":{"line1":"Flat 4, 221 Kingsland Road","line2":"Haggerston","city":"London","region":"Greater London","postal_code":"E2 8AN","country":"GB"},"billing":{"currency":"GBP","vat_number":"GB123456789","payment_terms_days":30,"iban_last4":"4821"},"preferences":{"language":"en-GB","timezone":"Europe/London","channels":["email","sms"],"newsletter":false},"orders":[{"order_id":"o-99120","total":412.5,"items":3,"placed_at":"2024-11-02T14:03:11Z"},{"order_id":"o-99533","total":87.2,"items":1,"placed_at":"2024-12-19T08:45:00Z"},{"order_id":"o-100871","total":1290,"items":12,"placed_at":"2025-01-07T17:22:36Z"}],"notes":"Prefers delivery before noon; loading bay at rear entrance."}`

// BenchmarkShiftRenameRest renames five keys of a 1 KB record and copies
// the rest ("*": "&").
func BenchmarkShiftRenameRest(b *testing.B) {
	tr, err := jolt.Compile("shift", mustDecode(b, renameRestSpec))
	if err != nil {
		b.Fatal(err)
	}
	runJOLT(b, tr, mustDecode(b, customerJSON))
}
