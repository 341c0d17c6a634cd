package engine_test

import (
	"bytes"
	"errors"
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
