package engine_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// TestMaskSecrets: values of at least engine.MinSecretLen bytes are masked
// inside longer text; shorter ones are left, or every "1234" would go.
func TestMaskSecrets(t *testing.T) {
	secrets := []string{"1234", "acct-key-0123456789", "other-secret"}
	for in, want := range map[string]string{
		"https://x/?key=acct-key-0123456789&page=2": "https://x/?key=***&page=2",
		"pin 1234 and other-secret, other-secret":   "pin 1234 and ***, ***",
		"nothing here": "nothing here",
		"short":        "short",
	} {
		if got := engine.MaskSecrets(in, secrets); got != want {
			t.Errorf("MaskSecrets(%q) = %q, want %q", in, got, want)
		}
	}
	var s engine.Secrets
	s.Add("", "short", "long-enough-value")
	if got := s.Values(); len(got) != 1 || got[0] != "long-enough-value" {
		t.Errorf("Values() = %q", got)
	}
}

// TestMaskLogs (#12.3): a log line never shows a secret the runtime holds,
// in its message, a string, an error, a group or a message object, nor the
// value of an attribute with a sensitive name in any spelling.
func TestMaskLogs(t *testing.T) {
	rt := &engine.Runtime{SensitiveFields: []string{"pin"}}
	rt.Secrets.Add("acct-key-0123456789")
	var buf bytes.Buffer
	log := slog.New(engine.MaskLogs(slog.NewJSONHandler(&buf, nil), rt))
	obj := value.NewObject(1)
	obj.Set("next", "https://x/?key=acct-key-0123456789")
	log.With("url", "https://x/?key=acct-key-0123456789").Info("called https://x/?key=acct-key-0123456789",
		"error", errors.New("401 for key acct-key-0123456789"), "PIN", "98765432", "Client-Secret", "cs-abcdefgh",
		slog.Group("req", "q", "acct-key-0123456789"), "body", obj, "count", 3)
	out := buf.String()
	for _, leak := range []string{"acct-key-0123456789", "98765432", "cs-abcdefgh"} {
		if strings.Contains(out, leak) {
			t.Errorf("log shows %s: %s", leak, out)
		}
	}
	if !strings.Contains(out, `"count":3`) || !strings.Contains(out, `"PIN":"***"`) {
		t.Errorf("log lost its fields: %s", out)
	}
}

// ExampleMask hides the values of sensitive fields at any depth and a known
// secret inside longer text; the value given is not changed.
func ExampleMask() {
	in, _ := value.DecodeString(`{"user":"ada","auth":{"Client-Secret":"cs-42"},"note":"key acct-key-0123456789 sent"}`)
	out := engine.Mask(in, &engine.Masking{
		Field:   func(k string) bool { return engine.SensitiveField(k) },
		Secrets: [][]string{{"acct-key-0123456789"}},
	})
	fmt.Println(value.MustEncodeString(out))
	fmt.Println(value.MustEncodeString(in))
	// Output:
	// {"user":"ada","auth":{"Client-Secret":"***"},"note":"key *** sent"}
	// {"user":"ada","auth":{"Client-Secret":"cs-42"},"note":"key acct-key-0123456789 sent"}
}

// TestMask: the one masking walk hides the values of named fields (not
// nulls), secrets in strings and in field names at any depth, shares what
// holds nothing secret, and hands Hidden the strings it hides, which, added
// to Secrets, are hidden in the rest of the value.
func TestMask(t *testing.T) {
	in, err := value.DecodeString(`{"a":{"pin":{"x":["pin-value-1234",7]},"none":null,"pin2":null},` +
		`"list":["say pin-value-1234",{"acct-key-0123456789":1}],"same":{"b":[1,"c"]}}`)
	if err != nil {
		t.Fatal(err)
	}
	var hidden []string
	m := &engine.Masking{
		Field:   func(k string) bool { return strings.HasPrefix(k, "pin") },
		Secrets: [][]string{{"acct-key-0123456789"}, nil},
	}
	m.Hidden = func(s string) {
		hidden = append(hidden, s)
		m.Secrets[1] = append(m.Secrets[1], s)
	}
	out := engine.Mask(in, m)
	want := `{"a":{"pin":"***","none":null,"pin2":null},"list":["say ***",{"***":1}],"same":{"b":[1,"c"]}}`
	if got := value.MustEncodeString(out); got != want {
		t.Errorf("Mask = %s\nwant   %s", got, want)
	}
	if strings.Join(hidden, ",") != "pin-value-1234" {
		t.Errorf("Hidden saw %q", hidden)
	}
	o, i := out.(*value.Object), in.(*value.Object)
	os2, _ := o.Get("same")
	is2, _ := i.Get("same")
	if !value.Same(os2, is2) {
		t.Error("a part holding nothing secret was copied")
	}
	if value.MustEncodeString(in) == want {
		t.Error("Mask changed its input")
	}
	if got := engine.Mask(in, &engine.Masking{}); !value.Same(got, in) {
		t.Error("nothing to mask, but a copy came back")
	}
}

// TestMaskSecretsCutValue: a value cut for a message (text.Preview: a
// prefix, then …) is masked as the value is, when the prefix is at least
// engine.MinSecretLen bytes; text that is not a cut secret is left.
func TestMaskSecretsCutValue(t *testing.T) {
	secrets := []string{"Zq7Hn2Kd9Lp4Wx6T-b3Rf8Ys1Vm5Jc0Gu", "another-long-secret"}
	for _, c := range []struct{ in, want string }{
		{`got string "Zq7Hn2Kd9Lp4Wx6T-b3Rf8Ys…"`, `got string "***…"`},
		{`a "Zq7Hn2Kd…" and "another-long…" and "another-long-secret"`, `a "***…" and "***…" and "***"`},
		{`xZq7Hn2Kd9Lp4…`, `x***…`},                // the prefix starts inside a word
		{`got "Zq7Hn2K…"`, `got "Zq7Hn2K…"`},       // 7 bytes: too short to tell
		{`got "Zq7Hn2Kd9L"…`, `got "Zq7Hn2Kd9L"…`}, // not right before the ellipsis
		{`got "Zq7Hn2Kd9LX…"`, `got "Zq7Hn2Kd9LX…"`},
		{`nothing … here`, `nothing … here`},
	} {
		if got := engine.MaskSecrets(c.in, secrets); got != c.want {
			t.Errorf("MaskSecrets(%q) = %q, want %q", c.in, got, c.want)
		}
		if got := engine.HoldsSecret(c.in, secrets); got != (c.in != c.want) {
			t.Errorf("HoldsSecret(%q) = %v", c.in, got)
		}
	}
}
