package history

import (
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine"
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
