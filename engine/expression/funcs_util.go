package expression

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/nectar-run/nectar/engine/value"
)

func init() {
	registerIn(catUtil,
		Function{
			Name: "BASEENCODE", Usage: "BASEENCODE(s, charset?=\"UTF-8\")",
			Doc:     "Standard Base64 (with padding) of the bytes of s in charset: UTF-8, ISO-8859-1, US-ASCII, UTF-16, UTF-16BE or UTF-16LE. Null gives null.",
			Example: `BASEENCODE("user:pa55")`, Result: `"dXNlcjpwYTU1"`,
			Fn: baseEncodeFn("BASEENCODE", base64.StdEncoding),
		},
		Function{
			Name: "BASEDECODE", Usage: "BASEDECODE(s, charset?=\"UTF-8\")",
			Doc:     "Decodes standard Base64 (padding optional) and reads the bytes as text in charset. Invalid Base64 is an error.",
			Example: `BASEDECODE("dXNlcjpwYTU1")`, Result: `"user:pa55"`,
			Fn: baseDecodeFn("BASEDECODE", base64.RawStdEncoding),
		},
		Function{
			Name: "BASEURLENCODE", Usage: "BASEURLENCODE(s, charset?=\"UTF-8\")",
			Doc:     "URL-safe Base64 without padding (- and _ instead of + and /).",
			Example: `BASEURLENCODE("xpto")`, Result: `"eHB0bw"`,
			Fn: baseEncodeFn("BASEURLENCODE", base64.RawURLEncoding),
		},
		Function{
			Name: "BASEURLDECODE", Usage: "BASEURLDECODE(s, charset?=\"UTF-8\")",
			Doc:     "Decodes URL-safe Base64 (padding optional).",
			Example: `BASEURLDECODE("eHB0bw")`, Result: `"xpto"`,
			Fn: baseDecodeFn("BASEURLDECODE", base64.RawURLEncoding),
		},
		Function{
			Name: "URIENCODE", Usage: "URIENCODE(s, charset?=\"UTF-8\")",
			Doc:     "Percent-encodes s as Java's URLEncoder does (form encoding): letters, digits and .-*_ stay, a space becomes +, other bytes become %XX.",
			Example: `URIENCODE("http://localhost:8080")`, Result: `"http%3A%2F%2Flocalhost%3A8080"`,
			Fn: fnURIEncode,
		},
		Function{
			Name: "URIDECODE", Usage: "URIDECODE(s, charset?=\"UTF-8\")",
			Doc:     "Reverses URIENCODE: + becomes a space, %XX a byte. A malformed escape is an error.",
			Example: `URIDECODE("http%3A%2F%2Flocalhost%3A8080%2Fa+b")`, Result: `"http://localhost:8080/a b"`,
			Fn: fnURIDecode,
		},
		Function{
			Name: "UUID", Usage: "UUID()",
			Doc:     "A random (version 4) UUID from crypto/rand, in lower case.",
			Example: `UUID()`,
			Fn:      fnUUID,
		},
		Function{
			Name: "TOBOOLEAN", Usage: "TOBOOLEAN(v)",
			Doc:     "True for true and for the string \"true\" in any case; false for anything else, null included.",
			Example: `TOBOOLEAN("TRUE")`, Result: `true`,
			Fn: func(args ...any) (any, error) {
				if err := arity("TOBOOLEAN", args, 1, 1); err != nil {
					return nil, err
				}
				switch t := args[0].(type) {
				case bool:
					return t, nil
				case string:
					return strings.EqualFold(strings.TrimSpace(t), "true"), nil
				}
				return false, nil
			},
		},
		Function{
			Name: "SIZE", Usage: "SIZE(v, throwErrorOnUnexpectedType?=true)",
			Doc:     "Length of a string (in characters), an array or an object (its keys). Another type is an error, or null when the second argument is false.",
			Example: `SIZE({"a": 1, "b": [1, 2, 3]})`, Result: `2`,
			Fn: fnSize,
		},
	)
}

// encodeCharset turns s into bytes in a charset; unmappable characters become '?', as in Java.
func encodeCharset(name string, args []any, i int, s string) ([]byte, error) {
	cs, err := optText(name, args, i, "UTF-8")
	if err != nil {
		return nil, err
	}
	norm := normCharset(cs)
	switch norm {
	case "UTF8":
		return []byte(s), nil
	case "ISO88591", "LATIN1":
		return narrow(s, 0xff), nil
	case "USASCII", "ASCII":
		return narrow(s, 0x7f), nil
	case "UTF16", "UTF16BE":
		b := []byte{}
		if norm == "UTF16" {
			b = append(b, 0xfe, 0xff)
		}
		for _, u := range utf16.Encode([]rune(s)) {
			b = binary.BigEndian.AppendUint16(b, u)
		}
		return b, nil
	case "UTF16LE":
		var b []byte
		for _, u := range utf16.Encode([]rune(s)) {
			b = binary.LittleEndian.AppendUint16(b, u)
		}
		return b, nil
	}
	return nil, argError(name, i, "unsupported charset %q", cs)
}

// decodeCharset reads bytes in a charset as a string.
func decodeCharset(name string, args []any, i int, b []byte) (string, error) {
	cs, err := optText(name, args, i, "UTF-8")
	if err != nil {
		return "", err
	}
	norm := normCharset(cs)
	switch norm {
	case "UTF8":
		return strings.ToValidUTF8(string(b), "\uFFFD"), nil
	case "ISO88591", "LATIN1", "USASCII", "ASCII":
		out := make([]byte, 0, 2*len(b))
		for _, c := range b {
			out = utf8.AppendRune(out, rune(c))
		}
		return string(out), nil
	case "UTF16", "UTF16BE", "UTF16LE":
		le := norm == "UTF16LE"
		if norm == "UTF16" && len(b) >= 2 {
			switch {
			case b[0] == 0xfe && b[1] == 0xff:
				b = b[2:]
			case b[0] == 0xff && b[1] == 0xfe:
				b, le = b[2:], true
			}
		}
		u := make([]uint16, len(b)/2)
		for j := range u {
			if le {
				u[j] = binary.LittleEndian.Uint16(b[2*j:])
			} else {
				u[j] = binary.BigEndian.Uint16(b[2*j:])
			}
		}
		return string(utf16.Decode(u)), nil
	}
	return "", argError(name, i, "unsupported charset %q", cs)
}

// charsetNames are the charset names normCharset knows, normalised.
var charsetNames = [...]string{"UTF8", "ISO88591", "LATIN1", "USASCII", "ASCII", "UTF16", "UTF16BE", "UTF16LE"}

// normCharset returns the known charset name cs spells ("utf-8", "ISO_8859-1"
// and "Latin 1" are UTF8, ISO88591 and LATIN1), or "" for an unknown one. It
// upper-cases and drops - _ and spaces in a buffer on the stack, so it
// allocates nothing: it runs on every BASEDECODE and friends.
func normCharset(cs string) string {
	var buf [16]byte
	n := 0
	for i := 0; i < len(cs); i++ {
		c := cs[i]
		switch {
		case c == '-' || c == '_' || c == ' ':
			continue
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		}
		if n == len(buf) {
			return ""
		}
		buf[n] = c
		n++
	}
	for _, k := range charsetNames {
		if string(buf[:n]) == k {
			return k
		}
	}
	return ""
}

func narrow(s string, maxRune rune) []byte {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > maxRune {
			r = '?'
		}
		b = append(b, byte(r))
	}
	return b
}

func baseEncodeFn(name string, enc *base64.Encoding) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		s, ok, err := firstText(name, args, 1, 2)
		if !ok {
			return nil, err
		}
		b, err := encodeCharset(name, args, 1, s)
		if err != nil {
			return nil, err
		}
		return enc.EncodeToString(b), nil
	}
}

func baseDecodeFn(name string, enc *base64.Encoding) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		s, ok, err := firstText(name, args, 1, 2)
		if !ok {
			return nil, err
		}
		s = strings.TrimRight(strings.TrimSpace(s), "=")
		b, err := enc.DecodeString(s)
		if err != nil {
			return nil, argError(name, 0, "not Base64: %s", err.Error())
		}
		return decodeCharset(name, args, 1, b)
	}
}

func fnURIEncode(args ...any) (any, error) {
	s, ok, err := firstText("URIENCODE", args, 1, 2)
	if !ok {
		return nil, err
	}
	b, err := encodeCharset("URIENCODE", args, 1, s)
	if err != nil {
		return nil, err
	}
	const hexUpper = "0123456789ABCDEF"
	out := make([]byte, 0, len(b)+8)
	for _, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '.', c == '-', c == '*', c == '_':
			out = append(out, c)
		case c == ' ':
			out = append(out, '+')
		default:
			out = append(out, '%', hexUpper[c>>4], hexUpper[c&15])
		}
	}
	return string(out), nil
}

func fnURIDecode(args ...any) (any, error) {
	s, ok, err := firstText("URIDECODE", args, 1, 2)
	if !ok {
		return nil, err
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			out = append(out, ' ')
		case '%':
			if i+2 >= len(s) || unhex(s[i+1]) < 0 || unhex(s[i+2]) < 0 {
				return nil, argError("URIDECODE", 0, "malformed escape at character %d", utf8.RuneCountInString(s[:i]))
			}
			out = append(out, byte(unhex(s[i+1])<<4|unhex(s[i+2])))
			i += 2
		default:
			out = append(out, c)
		}
	}
	return decodeCharset("URIDECODE", args, 1, out)
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func fnUUID(args ...any) (any, error) {
	if err := arity("UUID", args, 0, 0); err != nil {
		return nil, err
	}
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	var out [36]byte
	hex.Encode(out[0:8], u[0:4])
	hex.Encode(out[9:13], u[4:6])
	hex.Encode(out[14:18], u[6:8])
	hex.Encode(out[19:23], u[8:10])
	hex.Encode(out[24:], u[10:])
	out[8], out[13], out[18], out[23] = '-', '-', '-', '-'
	return string(out[:]), nil
}

func fnSize(args ...any) (any, error) {
	if err := arity("SIZE", args, 1, 2); err != nil {
		return nil, err
	}
	strict, err := optBool("SIZE", args, 1, true)
	if err != nil {
		return nil, err
	}
	switch t := value.FromGo(args[0]).(type) {
	case string:
		return int64(utf8.RuneCountInString(t)), nil
	case []any:
		return int64(len(t)), nil
	case *value.Object:
		return int64(t.Len()), nil
	}
	if !strict {
		return nil, nil
	}
	return nil, argError("SIZE", 0, "expected a string, array or object, got %s", describe(args[0]))
}
