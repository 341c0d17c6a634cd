package expression

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"net/url"
	"strings"
	"unsafe"
)

// maxRandomBytes bounds RANDOMSECRET.
const maxRandomBytes = 1024

func init() {
	registerIn(catCrypto,
		Function{
			Name: "SHA256", Usage: "SHA256(s)",
			Doc:     "Hex-encoded SHA-256 digest of the UTF-8 bytes of s (numbers and booleans are hashed as text).",
			Example: `SHA256("abc")`, Result: `"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"`,
			Unary: digestFn("SHA256", func(s string) string { d := sha256.Sum256(textBytes(s)); return hexString(d[:]) }),
		},
		Function{
			Name: "SHA512", Usage: "SHA512(s)",
			Doc:     "Hex-encoded SHA-512 digest of the UTF-8 bytes of s.",
			Example: `SHA512("abc")`, Result: `"ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"`,
			Unary: digestFn("SHA512", func(s string) string { d := sha512.Sum512(textBytes(s)); return hexString(d[:]) }),
		},
		Function{
			Name: "HMACSHA256", Usage: "HMACSHA256(key, s)",
			Doc:     "Hex-encoded HMAC-SHA-256 of s with key, as webhook signatures (GitHub, Stripe, Shopify) use. Compare signatures with CONSTANTTIMEEQUALS.",
			Example: `HMACSHA256("key", "The quick brown fox jumps over the lazy dog")`, Result: `"f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"`,
			Fn: hmacFn("HMACSHA256", sha256.New),
		},
		Function{
			Name: "HMACSHA512", Usage: "HMACSHA512(key, s)",
			Doc:     "Hex-encoded HMAC-SHA-512 of s with key.",
			Example: `HMACSHA512("key", "The quick brown fox jumps over the lazy dog")`, Result: `"b42af09057bac1e2d41708e48a902e09b5ff7f12ab428a4fe86653c73dd248fb82f948a549f7b791a5b41915ee4d1ec3935357e4e2317250d0372afa2ebeeb3a"`,
			Fn: hmacFn("HMACSHA512", sha512.New),
		},
		Function{
			Name: "CONSTANTTIMEEQUALS", Usage: "CONSTANTTIMEEQUALS(a, b)",
			Doc:     "True when the strings are equal, compared in time that does not depend on where they differ; use it to check signatures and tokens. Null equals nothing.",
			Example: `CONSTANTTIMEEQUALS("abc", "abc")`, Result: `true`,
			Binary: constantTimeEquals,
		},
		Function{
			Name: "RANDOMSECRET", Usage: "RANDOMSECRET(bytes?=32)",
			Doc:     "bytes random bytes from crypto/rand (1 to 1024), URL-safe Base64 without padding: a secret, API key or nonce.",
			Example: `RANDOMSECRET(32)`,
			Fn:      fnRandomSecret,
		},
		Function{
			Name: "RANDOMID", Usage: "RANDOMID(prefix?)",
			Doc:     "A random identifier of 130 bits from crypto/rand: 26 lower-case base32 characters (a–z, 2–7), safe in URLs and file names, after the optional prefix.",
			Example: `RANDOMID("ord_")`,
			Fn:      fnRandomID,
		},
		Function{
			Name: "HEXENCODE", Usage: "HEXENCODE(s)",
			Doc:     "Lower-case hexadecimal of the UTF-8 bytes of s. Null gives null.",
			Example: `HEXENCODE("Hi!")`, Result: `"486921"`,
			Fn: stringMap("HEXENCODE", func(s string) string { return hex.EncodeToString([]byte(s)) }),
		},
		Function{
			Name: "HEXDECODE", Usage: "HEXDECODE(s)",
			Doc:     "The text whose bytes s holds in hexadecimal (either case). Null gives null.",
			Example: `HEXDECODE("486921")`, Result: `"Hi!"`,
			Fn: fnHexDecode,
		},
		Function{
			Name: "QUERYESCAPE", Usage: "QUERYESCAPE(s)",
			Doc:     "Escapes s for a URL query component (Go's url.QueryEscape: a space becomes +, everything but letters, digits and -_.~ is percent-encoded). Null gives null.",
			Example: `QUERYESCAPE("a b&c=d/é")`, Result: `"a+b%26c%3Dd%2F%C3%A9"`,
			Fn: stringMap("QUERYESCAPE", url.QueryEscape),
		},
		Function{
			Name: "URLENCODE", Usage: "URLENCODE(s)",
			Doc:     "Another name for QUERYESCAPE.",
			Example: `URLENCODE("x=1 y")`, Result: `"x%3D1+y"`,
			Fn: stringMap("URLENCODE", url.QueryEscape),
		},
		Function{
			Name: "QUERYUNESCAPE", Usage: "QUERYUNESCAPE(s)",
			Doc:     "Reverses QUERYESCAPE: + becomes a space and %XX sequences are decoded. A malformed escape is an error.",
			Example: `QUERYUNESCAPE("a+b%26c")`, Result: `"a b&c"`,
			Unary: unescapeFn("QUERYUNESCAPE", url.QueryUnescape),
		},
		Function{
			Name: "PATHESCAPE", Usage: "PATHESCAPE(s)",
			Doc:     "Escapes s for one segment of a URL path: a space becomes %20 and / is escaped.",
			Example: `PATHESCAPE("a b/c")`, Result: `"a%20b%2Fc"`,
			Fn: stringMap("PATHESCAPE", url.PathEscape),
		},
	)
}

// digestFn is a one-argument function returning the hex digest of a
// string that sum computes.
func digestFn(name string, sum func(string) string) func(v any) (any, error) {
	return func(v any) (any, error) {
		s, err := textAt(name, 0, v)
		if err != nil {
			return nil, err
		}
		return sum(s), nil
	}
}

// textBytes is s's bytes, not copied, for a function that only reads them
// (a digest): converting a text of more than 32 bytes would allocate a copy.
func textBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// hexString is a digest of at most 64 bytes in hex, its one allocation the
// string returned (hex.EncodeToString makes a buffer too).
func hexString(d []byte) string {
	var buf [128]byte
	return string(buf[:hex.Encode(buf[:], d)])
}

func hmacFn(name string, h func() hash.Hash) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		r := readArgs(name, args, 2, 2)
		key := r.text(0)
		s := r.text(1)
		if r.err != nil {
			return nil, r.err
		}
		m := hmac.New(h, []byte(key))
		m.Write([]byte(s))
		return hex.EncodeToString(m.Sum(nil)), nil
	}
}

// constantTimeEquals is CONSTANTTIMEEQUALS (Binary: a compiled call passes
// its two arguments without packing them into a slice).
func constantTimeEquals(x, y any) (any, error) {
	const name = "CONSTANTTIMEEQUALS"
	if x == nil || y == nil {
		return false, nil
	}
	a, err := textAt(name, 0, x)
	if err != nil {
		return nil, err
	}
	b, err := textAt(name, 1, y)
	if err != nil {
		return nil, err
	}
	return subtle.ConstantTimeCompare(textBytes(a), textBytes(b)) == 1, nil
}

func fnRandomSecret(args ...any) (any, error) {
	const name = "RANDOMSECRET"
	if err := arity(name, args, 0, 1); err != nil {
		return nil, err
	}
	n := int64(32)
	if opt(args, 0) != nil {
		var err error
		if n, err = argInt(name, args, 0); err != nil {
			return nil, err
		}
	}
	if n < 1 || n > maxRandomBytes {
		return nil, argError(name, 0, "byte count must be between 1 and %d, got %d", maxRandomBytes, n)
	}
	b := make([]byte, n)
	rand.Read(b) // never returns an error (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b), nil
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

func fnRandomID(args ...any) (any, error) {
	r := readArgs("RANDOMID", args, 0, 1)
	prefix := r.optText(0, "")
	if r.err != nil {
		return nil, r.err
	}
	var b [17]byte // 136 bits drawn; 26 base32 characters keep 130 of them
	rand.Read(b[:])
	return randomID(prefix, &b), nil
}

// randomID is prefix and the first 26 characters of b in idEncoding, encoded
// on the stack: its one allocation is the string returned (EncodeToString
// would allocate the encoding, and the concatenation a second string).
func randomID(prefix string, b *[17]byte) string {
	var enc [28]byte // 17 bytes are 28 base32 characters without padding
	idEncoding.Encode(enc[:], b[:])
	if prefix == "" {
		return string(enc[:26])
	}
	return prefix + string(enc[:26])
}

func fnHexDecode(args ...any) (any, error) {
	s, ok, err := firstText("HEXDECODE", args, 1, 1)
	if !ok {
		return nil, err
	}
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, argError("HEXDECODE", 0, "not hexadecimal: %s", strings.TrimPrefix(err.Error(), "encoding/hex: "))
	}
	return string(b), nil
}

func unescapeFn(name string, f func(string) (string, error)) func(v any) (any, error) {
	return func(v any) (any, error) {
		if v == nil {
			return nil, nil
		}
		s, err := textAt(name, 0, v)
		if err != nil {
			return nil, err
		}
		out, err := f(s)
		if err != nil {
			return nil, argError(name, 0, "malformed escape: %s", err.Error())
		}
		return out, nil
	}
}

// randomFrom returns n characters drawn uniformly from alphabet with crypto/rand.
// Bytes at or above the largest multiple of len(alphabet) are rejected, so no
// character is more likely than another.
func randomFrom(alphabet string, n int) string {
	if n == 0 {
		return ""
	}
	size := len(alphabet)
	limit := 256 - 256%size
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/4+8)
	for len(out) < n {
		rand.Read(buf)
		for _, c := range buf {
			if int(c) < limit {
				out = append(out, alphabet[int(c)%size])
				if len(out) == n {
					break
				}
			}
		}
	}
	return string(out)
}
