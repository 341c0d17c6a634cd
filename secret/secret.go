// Package secret keeps credentials out of sight: the Secret type, which
// prints, logs and marshals as "***", and the Sealer, which encrypts
// secrets before they reach the store (AES-256-GCM under a master key).
//
// # The master key
//
// The key is 32 random bytes. Nectar takes it from the environment variable
// NECTAR_MASTER_KEY (base64 of the 32 bytes) when set; otherwise from the
// file master.key in the data directory, which is generated on first start
// with mode 0600 (package open generates it only for a store that holds no
// sealed value: a new key could not open them). A key file that other users can read or write is refused,
// as ssh refuses such a private key: fix it with chmod 600. Keep a copy of
// the key: without it, sealed secrets cannot be recovered.
//
// Every sealed blob names the key that sealed it (a key id derived from the
// key, not the key), so opening it with another key fails with ErrWrongKey
// instead of returning garbage; a blob changed after sealing fails with
// ErrTampered. To change keys, Reseal every blob from the old Sealer to the
// new one, then SaveKey the new key.
package secret

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"log/slog"

	"gopkg.in/yaml.v3"
)

// Secret holds a credential. It prints, logs and marshals as "***"; Reveal
// is called only at the wire, where the value is sent to whom it belongs.
// The zero Secret is empty. Secrets are values: copy them freely; they are
// safe for concurrent use.
type Secret struct{ v string }

// New wraps v in a Secret.
func New(v string) Secret { return Secret{v: v} }

const mask = "***"

// Reveal returns the value. Call it only where the value leaves Nectar for
// its owner (an Authorization header, a token request), never to print it.
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.v == "" }

// Equal reports whether the secret equals v, in time that does not depend
// on where they differ, so comparing an API key leaks nothing through
// timing.
func (s Secret) Equal(v string) bool { return subtle.ConstantTimeCompare([]byte(s.v), []byte(v)) == 1 }

// String returns "***".
func (Secret) String() string { return mask }

// GoString returns "***", for %#v.
func (Secret) GoString() string { return mask }

// Format writes "***" for every verb, so no fmt verb (%x, %q, %d...) can
// print the value.
func (Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(mask)) }

// LogValue returns "***" to log/slog.
func (Secret) LogValue() slog.Value { return slog.StringValue(mask) }

// MarshalJSON returns "***" as a JSON string.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"***"`), nil }

// MarshalText returns "***", for encoders that use encoding.TextMarshaler.
func (Secret) MarshalText() ([]byte, error) { return []byte(mask), nil }

// MarshalYAML returns "***".
func (Secret) MarshalYAML() (any, error) { return mask, nil }

// UnmarshalJSON reads a JSON string (or null, giving an empty secret), so
// configuration can carry secrets; anything else is an error that does not
// quote the input.
func (s *Secret) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*s = Secret{}
		return nil
	}
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("secret: want a JSON string, got %s", jsonKind(b))
	}
	*s = Secret{v: v}
	return nil
}

// UnmarshalYAML reads a YAML scalar as a string; anything else is an
// error that does not quote the input.
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("secret: line %d: want a string, got a %s", n.Line, yamlKind(n.Kind))
	}
	if n.Tag == "!!null" {
		*s = Secret{}
		return nil
	}
	*s = Secret{v: n.Value}
	return nil
}

func jsonKind(b []byte) string {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return "an object"
		case '[':
			return "an array"
		case 't', 'f':
			return "a boolean"
		case '"':
			return "an invalid string"
		}
		return "a number"
	}
	return "nothing"
}

func yamlKind(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "sequence"
	case yaml.AliasNode:
		return "alias"
	}
	return "document"
}
