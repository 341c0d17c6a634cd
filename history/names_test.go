package history

import (
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// nameCases are keys in the spellings records hold: the default names as
// written in code, in JSON and in headers, near misses, the lists' names,
// and keys of ignored bytes only.
func nameCases() []string {
	keys := []string{"", "_", "-", " \t", "id", "first_name", "tokens", "tok_en", "Token", "TOKEN", "access-Token",
		" api key ", "apiKey", "X-Api-Key", "x_api_keys", "passwor", "password1", "pass_word", "clientSecret",
		"set-cookie", "Set-Cookie", "cookies", "otp", "OTP", "o_t_p", "ot", "pin_code", "PinCode", "pin", "iban",
		"IBAN_number", "ibannumber", "x", "X-", "-x", "xy", "i_d", "Id", "é", "tokén", "tok\x00en", "\xff", "credentials", "credential", "Credential_S"}
	for _, f := range engine.DefaultSensitiveFields {
		keys = append(keys, f, strings.ToUpper(f), strings.ReplaceAll(f, "_", "-"), strings.ReplaceAll(f, "_", ""), f+"x", "x"+f, f[1:])
	}
	return keys
}

// TestNameTable checks that the table a record's masker asks answers
// exactly as engine.SensitiveField does, with and without lists (a list
// name that normalizes to "" included).
func TestNameTable(t *testing.T) {
	for _, lists := range [][][]string{
		nil,
		{{"pin_code", "IBAN number"}},
		{{"pin_code"}, {"iban", "ot"}},
		{nil, {"_"}},
		{{"Token", "token"}}, // a default name again
		{{"x", "ID"}},        // names of one and two bytes
	} {
		tab := newNameTable(lists...)
		for _, k := range nameCases() {
			if got, want := tab.has(k), engine.SensitiveField(k, lists...); got != want {
				t.Errorf("lists %q: has(%q) = %v, SensitiveField = %v", lists, k, got, want)
			}
		}
	}
}

// FuzzNameTable checks the table against engine.SensitiveField on any key.
func FuzzNameTable(f *testing.F) {
	for _, k := range nameCases() {
		f.Add(k)
	}
	tab := newNameTable([]string{"pin_code", "IBAN number", "_"})
	f.Fuzz(func(t *testing.T, k string) {
		if got, want := defaultNames.has(k), engine.SensitiveField(k); got != want {
			t.Errorf("defaults: has(%q) = %v, SensitiveField = %v", k, got, want)
		}
		if got, want := tab.has(k), engine.SensitiveField(k, []string{"pin_code", "IBAN number", "_"}); got != want {
			t.Errorf("lists: has(%q) = %v, SensitiveField = %v", k, got, want)
		}
	})
}

// TestNamesForPipelines checks that each pipeline's records mask its own
// sensitive_fields: the table is chosen by the pipeline's list, not shared
// across pipelines.
func TestNamesForPipelines(t *testing.T) {
	r := &Recorder{opts: Options{SensitiveFields: []string{"server_pin"}}}
	a := &engine.Pipeline{Name: "a", SensitiveFields: []string{"pin_a"}}
	b := &engine.Pipeline{Name: "b", SensitiveFields: []string{"pin_b"}}
	for _, c := range []struct {
		p    *engine.Pipeline
		key  string
		want bool
	}{{a, "pin_a", true}, {a, "pin_b", false}, {b, "pin_b", true}, {b, "PIN-A", false}, {a, "serverPin", true},
		{b, "server_pin", true}, {nil, "server_pin", true}, {nil, "pin_a", false}, {a, "password", true}} {
		if got := r.namesFor(c.p).has(c.key); got != c.want {
			name := "<none>"
			if c.p != nil {
				name = c.p.Name
			}
			t.Errorf("pipeline %s: %q sensitive = %v, want %v", name, c.key, got, c.want)
		}
	}
}

// BenchmarkInKeys measures the key scan that lets a record keep a
// message's text as it is: the 1 KB customer document ratio.sh's
// transform sends (its input) and the pipeline's answer, with the default
// names, once each per op.
func BenchmarkInKeys(b *testing.B) {
	in, err := value.DecodeString(benchCustomerIn)
	if err != nil {
		b.Fatal(err)
	}
	out, err := value.DecodeString(strings.NewReplacer(`"id"`, `"customerId"`, `"first_name"`, `"firstName"`, `"last_name"`, `"lastName"`,
		`"email"`, `"emailAddress"`, `"phone"`, `"phoneNumber"`).Replace(benchCustomerIn))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if defaultNames.inKeys(in) || defaultNames.inKeys(out) {
			b.Fatal("a sensitive name found")
		}
	}
}

// benchCustomerIn is the customer document of ratio.sh's transform.
const benchCustomerIn = `{"id":"c-000184223","first_name":"Margarethe","last_name":"Villanueva-Okonkwo","email":"m.villanueva.okonkwo@example.com","phone":"+44 20 7946 0958","created_at":"2023-04-18T09:27:41Z","status":"active","tier":"gold","marketing_opt_in":true,"lifetime_value":18422.75,"credit_limit":25000,"tags":["wholesale","priority","eu-vat","net-30"],"address":{"line1":"Flat 4, 221 Kingsland Road","line2":"Haggerston","city":"London","region":"Greater London","postal_code":"E2 8AN","country":"GB"},"billing":{"currency":"GBP","vat_number":"GB123456789","payment_terms_days":30,"iban_last4":"4821"},"preferences":{"language":"en-GB","timezone":"Europe/London","channels":["email","sms"],"newsletter":false},"orders":[{"order_id":"o-99120","total":412.5,"items":3,"placed_at":"2024-11-02T14:03:11Z"},{"order_id":"o-99533","total":87.2,"items":1,"placed_at":"2024-12-19T08:45:00Z"},{"order_id":"o-100871","total":1290,"items":12,"placed_at":"2025-01-07T17:22:36Z"}],"notes":"Prefers delivery before noon; loading bay at rear entrance."}`

// TestNameTableSpelled: each slot's spelling (which lookup takes as the
// name without comparing normalized bytes) normalizes to the slot's name,
// and every name as written in the lists is found.
func TestNameTableSpelled(t *testing.T) {
	for _, lists := range [][][]string{nil, {{"pin_code", "IBAN number", "Access-Token"}}, {{"x", "ID"}, {"_"}}} {
		tab := newNameTable(lists...)
		for i, s := range tab.slots {
			if got := engine.NormalizeField(tab.spelled[i]); got != s {
				t.Errorf("lists %q: slot %d holds %q spelled %q, which normalizes to %q", lists, i, s, tab.spelled[i], got)
			}
		}
		for _, l := range append([][]string{engine.DefaultSensitiveFields}, lists...) {
			for _, n := range l {
				if !tab.has(n) {
					t.Errorf("lists %q: has(%q) = false", lists, n)
				}
			}
		}
	}
}
