package history

import (
	"bytes"
	"math"
	"slices"
	"testing"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// maskCase is a message, the sensitive_fields of its pipeline and the
// secrets Nectar holds.
type maskCase struct {
	json, field, secret string
}

// maskCases are messages with sensitive fields at any depth (objects, lists
// and null under their names), secrets inside strings and field names
// (which makes engine.Mask rebuild the object), secrets that overlap, and
// secrets that a sensitive field reveals and that later text holds.
func maskCases() []maskCase {
	return []maskCase{
		{`{"grant_type":"client_credentials"}`, "", ""},
		{`{"access_token":"eyJhbGciOiJIUzI1NiJ9.e30.x","token_type":"Bearer","expires_in":3600,"refresh_token":"eyJhbGciOiJIUzUxMiJ9.e30.y","scope":"profile"}`, "", ""},
		{`{"password":"hunter2hunter2","echo":"you sent hunter2hunter2","list":["hunter2hunter2",{"x":"hunter2hunter2!"}]}`, "", ""},
		{`{"a":{"pin_code":{"n":"12345678","m":["abcdefghij",null,3]}},"b":"abcdefghij 12345678","pin_code":null}`, "pin_code", ""},
		{`{"note":"the key s3cr3t-k3y-value is here","nested":{"s3cr3t-k3y-value":"named by it","token":"s3cr3t-k3y-value"}}`, "", "s3cr3t-k3y-value"},
		{`{"x":{"abcdefghij-s3cr3t-k3y-value":{"api_key":"later-revealed-1","q":"later-revealed-1"},"y":"later-revealed-1"}}`, "", "s3cr3t-k3y-value"},
		{`{"secret":"abcdefghij","t":"abcdefghijkl cdefghijkl"}`, "", "cdefghijkl"},
		{`[{"token":"first-secret-1"},"first-secret-1",[{"first-secret-1":1}],{"":"x","IBAN number":"GB00 1234"}]`, "IBAN number", ""},
		{`{"a":1.5,"b":true,"c":null,"d":-0,"e":1e300,"f":"\u2028\u0000é"}`, "", ""},
		{`"a bare s3cr3t-k3y-value"`, "", "s3cr3t-k3y-value"},
	}
}

// appendBothWays masks v with the masker appendJSON writes with and with
// the one value.AppendJSON(engine.Mask(…)) wrote from, starting from the
// same state, and returns both texts and notes.
func appendBothWays(t *testing.T, c maskCase, v any) (got, want []byte, gotSeen, wantSeen []string) {
	t.Helper()
	mk := func() *masker {
		m := &masker{noting: true, seen: []string{"caller-api-key-1"}}
		if c.field != "" {
			m.local = []string{c.field}
		}
		if c.secret != "" {
			m.secrets = []string{c.secret}
		}
		m.names = newNameTable(m.local, m.global)
		return m
	}
	a, b := mk(), mk()
	got, gerr := a.appendJSON([]byte("x"), v)
	want, werr := value.AppendJSON([]byte("x"), b.apply(v))
	if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
		t.Fatalf("%s: errors %v and %v", c.json, gerr, werr)
	}
	return got, want, a.seen, b.seen
}

// TestAppendJSONMasksAsMask checks that the masked text a record holds is
// what encoding engine.Mask's copy wrote, byte for byte, with the same
// values noted as the record's secrets in the same order, and that
// noteValue notes what apply notes.
func TestAppendJSONMasksAsMask(t *testing.T) {
	for _, c := range maskCases() {
		v, err := value.DecodeString(c.json)
		if err != nil {
			t.Fatal(err)
		}
		got, want, gotSeen, wantSeen := appendBothWays(t, c, v)
		if !bytes.Equal(got, want) || !slices.Equal(gotSeen, wantSeen) {
			t.Errorf("%s:\n got %s %q\nwant %s %q", c.json, got, gotSeen, want, wantSeen)
		}
		n := &masker{noting: true, names: newNameTable([]string{c.field})}
		n.noteValue(v)
		if !slices.Equal(n.seen, wantSeen[1:]) {
			t.Errorf("%s: noteValue noted %q, apply %q", c.json, n.seen, wantSeen[1:])
		}
	}
	// A value AppendJSON refuses, after a sensitive field: the same error,
	// and the notes taken once.
	o := value.NewObject(2)
	o.Set("token", "noted-before-nan")
	o.Set("n", math.NaN())
	got, want, gotSeen, wantSeen := appendBothWays(t, maskCase{json: "NaN"}, []any{o, "noted-before-nan"})
	if !bytes.Equal(got, want) || !slices.Equal(gotSeen, wantSeen) {
		t.Errorf("NaN:\n got %s %q\nwant %s %q", got, gotSeen, want, wantSeen)
	}
}

// FuzzAppendJSON checks appendJSON against engine.Mask on any message,
// sensitive field name and secret.
func FuzzAppendJSON(f *testing.F) {
	for _, c := range maskCases() {
		f.Add(c.json, c.field, c.secret)
	}
	f.Fuzz(func(t *testing.T, text, field, secret string) {
		v, err := value.DecodeString(text)
		if err != nil {
			return
		}
		c := maskCase{json: text, field: field, secret: secret}
		got, want, gotSeen, wantSeen := appendBothWays(t, c, v)
		if !bytes.Equal(got, want) || !slices.Equal(gotSeen, wantSeen) {
			t.Errorf("%q field %q secret %q:\n got %s %q\nwant %s %q", text, field, secret, got, gotSeen, want, wantSeen)
		}
		n := &masker{noting: true, names: newNameTable([]string{field})}
		n.noteValue(v)
		if !slices.Equal(n.seen, wantSeen[1:]) {
			t.Errorf("%q: noteValue noted %q, apply %q", text, n.seen, wantSeen[1:])
		}
	})
}

// TestKnownKeysAnswerAsSensitiveField: masker.lookup answers a key from
// the recorder's cache when it met the key before (keyCache). Keys cut from
// one string (the same first byte, other lengths; the same length, other
// bytes; the same first and last bytes and length, which share a slot),
// their copies, keys over the 32 bytes kept, more keys than the cache
// holds, and two tables (one the other's names with one more), asked in
// turn and again, get engine.SensitiveField's answer every time.
func TestKnownKeysAnswerAsSensitiveField(t *testing.T) {
	base := "access_token_type_secret_x_api_key_pwd_client_secret_refresh_token"
	var keys []string
	for i := 0; i < len(base); i += 3 {
		for j := i; j <= len(base); j += 2 {
			keys = append(keys, base[i:j])
		}
	}
	keys = append(keys, "tokenXtoken", "tokenYtoken", "passwordX", "passwordY", "pXssword", "password", "pass_word", "PASSWORD")
	for _, k := range slices.Clone(keys) {
		keys = append(keys, string([]byte(k))) // the same text, other bytes
	}
	local := []string{"type_sec"}
	m := &masker{local: local, names: newNameTable(local), keys: &keyCache{}}
	other := newNameTable([]string{"type_sec", "access"})
	for round := range 3 {
		for i, k := range keys {
			if round == 1 {
				k = keys[len(keys)-1-i]
			}
			if got, want := m.sensitive(k), engine.SensitiveField(k, local, nil); got != want {
				t.Fatalf("round %d: sensitive(%q) = %v, want %v", round, k, got, want)
			}
			if got, want := m.lookup(other, k), engine.SensitiveField(k, local, []string{"access"}); got != want {
				t.Fatalf("round %d: lookup(other, %q) = %v, want %v", round, k, got, want)
			}
		}
	}
}
