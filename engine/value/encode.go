package value

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// Encode returns the compact JSON encoding of v. See AppendJSON.
// The text is written into a pooled buffer and copied out at its exact
// size: one allocation, where growing a new slice took one per doubling.
func Encode(v any) ([]byte, error) {
	bp := encodeBufs.Get().(*[]byte)
	b, err := AppendJSON((*bp)[:0], v)
	out := make([]byte, len(b))
	copy(out, b)
	if cap(b) <= maxPooledEncode {
		*bp = b[:0]
		encodeBufs.Put(bp)
	}
	return out, err
}

// encodeBufs are Encode's scratch buffers; one that grew beyond
// maxPooledEncode is left to the garbage collector.
var encodeBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

const maxPooledEncode = 64 << 10

// MustEncodeString encodes v and returns it as a string, or a quoted error for
// values that cannot be encoded. It is meant for messages and logs.
func MustEncodeString(v any) string {
	b, err := Encode(v)
	if err != nil {
		return strconv.Quote(err.Error())
	}
	return string(b)
}

// AppendJSON appends the compact JSON encoding of v to dst. Objects keep their
// key order; integers are written exactly; floats use the shortest form that
// reads back the same (an integral float keeps a ".0" so it stays a float).
// Values of other Go types are encoded as encoding/json would.
func AppendJSON(dst []byte, v any) ([]byte, error) {
	switch t := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case *Object:
		if t == nil {
			return append(dst, "null"...), nil
		}
		if len(t.fields) == 0 {
			return append(dst, "{}"...), nil
		}
		for i := range t.fields {
			sep := byte(',')
			if i == 0 {
				sep = '{'
			}
			dst = appendKey(dst, sep, t.fields[i].k)
			// A string member, the commonest, without a call and a
			// type switch of its own.
			if s, ok := t.fields[i].v.(string); ok {
				dst = AppendString(dst, s)
				continue
			}
			var err error
			if dst, err = AppendJSON(dst, t.fields[i].v); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	case []any:
		dst = append(dst, '[')
		for i, x := range t {
			if i > 0 {
				dst = append(dst, ',')
			}
			if s, ok := x.(string); ok { // as in an object
				dst = AppendString(dst, s)
				continue
			}
			var err error
			if dst, err = AppendJSON(dst, x); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case string:
		return AppendString(dst, t), nil
	case bool:
		return strconv.AppendBool(dst, t), nil
	case int64:
		return strconv.AppendInt(dst, t, 10), nil
	case int:
		return strconv.AppendInt(dst, int64(t), 10), nil
	case int32:
		return strconv.AppendInt(dst, int64(t), 10), nil
	case uint64:
		return strconv.AppendUint(dst, t, 10), nil
	case uint:
		return strconv.AppendUint(dst, uint64(t), 10), nil
	case float64:
		return appendFloat(dst, t)
	case float32:
		return appendFloat(dst, float64(t))
	case json.Number:
		if t == "" {
			return append(dst, '0'), nil
		}
		return append(dst, t...), nil
	case []byte:
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, t)
		return append(dst, '"'), nil
	case time.Time:
		return AppendString(dst, t.Format(time.RFC3339Nano)), nil
	case map[string]any, []string, []map[string]any:
		return AppendJSON(dst, FromGo(t))
	case json.Marshaler:
		b, err := t.MarshalJSON()
		if err != nil {
			return dst, err
		}
		return append(dst, b...), nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(dst, rv.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.AppendUint(dst, rv.Uint(), 10), nil
	case reflect.Func, reflect.Chan:
		return dst, fmt.Errorf("cannot encode a %s as JSON", TypeName(v))
	}
	b, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

func appendFloat(dst []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, fmt.Errorf("cannot encode %v as JSON", f)
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		dst = strconv.AppendFloat(dst, f, 'f', -1, 64)
		return append(dst, ".0"...), nil
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs < 1e-6 || abs >= 1e21 {
		format = 'e'
	} else if out, ok := appendShortDecimal(dst, f, abs); ok {
		return out, nil
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// Go writes 3e-07; JSON writers usually write 3e-7.
		if n := len(dst); n-start >= 4 && dst[n-2] == '0' && (dst[n-3] == '-' || dst[n-3] == '+') {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, nil
}

// appendShortDecimal appends f, which is not integral and has abs =
// |f| in [1e-6, 1e21), as strconv.AppendFloat(f, 'f', -1, 64) writes it,
// when f is the double nearest a decimal m / 10^k below 2^50 / 10^k with
// k <= 15 (what a message's prices, totals and rates mostly are; the
// inverse of the decoder's exactDecimal). It reports false otherwise, and
// the caller asks strconv, whose shortest-digit search costs some 600
// instructions a number where this costs a few dozen.
//
// Why it is strconv's text: for each k from 1 it tries m = round(abs·10^k)
// and keeps it when float64(m) / 10^k, one correctly rounded division of
// exact operands (ParseFloat's own fast path), gives abs back. Below 2^50
// the product is within 2^-4 of the exact abs·10^k, and a decimal m'/10^k
// that reads back as abs is within abs·10^k·2^-53 < 2^-3 of it, so if one
// exists it is m, and it is the only one. The first k that works is then
// the fewest fraction digits any decimal reading back as abs has, so m's
// digits are the shortest, and unique at that length: strconv's answer.
func appendShortDecimal(dst []byte, f, abs float64) ([]byte, bool) {
	for k := 1; k <= 15; k++ {
		x := abs * pow10[k]
		if x >= 1<<50 {
			return dst, false
		}
		m := math.Round(x)
		if m/pow10[k] != abs {
			continue
		}
		if f < 0 {
			dst = append(dst, '-')
		}
		// m's digits, the point k digits from the right, zeros before
		// them when m < 10^k (0.005).
		var buf [24]byte
		i := len(buf)
		for u := uint64(m); u > 0 || len(buf)-i <= k; u /= 10 {
			i--
			buf[i] = byte('0' + u%10)
		}
		dst = append(dst, buf[i:len(buf)-k]...)
		dst = append(dst, '.')
		return append(dst, buf[len(buf)-k:]...), true
	}
	return dst, false
}

const hexDigits = "0123456789abcdef"

// appendKey appends sep, then k quoted, then a colon: an object's member
// up to its value. A plain key (see plain) that fits in dst's spare
// capacity is written in one pass (copyPlain); any other goes through
// AppendString.
func appendKey(dst []byte, sep byte, k string) []byte {
	if n := len(dst) + len(k) + 4; n <= cap(dst) {
		dst = dst[:n]
		d := dst[n-len(k)-4:]
		d[0], d[1], d[len(d)-2], d[len(d)-1] = sep, '"', '"', ':'
		if copyPlain(d[2:len(d)-2], k) {
			return dst
		}
		dst = dst[:n-len(k)-4]
	}
	dst = append(dst, sep)
	dst = AppendString(dst, k)
	return append(dst, ':')
}

// copyPlain copies s into d, of the same length, sixteen then eight bytes a
// step, and reports whether every byte of s is plain (see plain); when one
// is not, it stops there and d holds a part of s.
func copyPlain(d []byte, s string) bool {
	d = d[:len(s)]
	i := 0
	// Two words a step: their tests share the SWAR constants and one
	// branch, and slicing sixteen bytes once leaves the loads and stores
	// without bounds checks (a signed token's few hundred bytes are most
	// of the token request's answer).
	for ; i+16 <= len(s); i += 16 {
		src, dst := s[i:i+16], d[i:i+16]
		w0, w1 := load64(src, 0), load64(src, 8)
		if notPlain(w0)|notPlain(w1) != 0 {
			return false
		}
		binary.LittleEndian.PutUint64(dst, w0)
		binary.LittleEndian.PutUint64(dst[8:], w1)
	}
	for ; i+8 <= len(s); i += 8 {
		w := load64(s, i)
		if notPlain(w) != 0 {
			return false
		}
		binary.LittleEndian.PutUint64(d[i:], w)
	}
	switch {
	case i == len(s):
	case len(s) >= 8: // the last eight bytes, overlapping the ones done
		w := load64(s, len(s)-8)
		if notPlain(w) != 0 {
			return false
		}
		binary.LittleEndian.PutUint64(d[len(s)-8:], w)
	case len(s) >= 4: // two four-byte halves, overlapping
		lo, hi := load32(s, 0), load32(s, len(s)-4)
		if notPlain(uint64(lo)|uint64(hi)<<32) != 0 {
			return false
		}
		binary.LittleEndian.PutUint32(d, lo)
		binary.LittleEndian.PutUint32(d[len(s)-4:], hi)
	default:
		for j := 0; j < len(s); j++ {
			if !plain[s[j]] {
				return false
			}
			d[j] = s[j]
		}
	}
	return true
}

// AppendString appends s as a quoted JSON string. HTML characters are not escaped.
func AppendString(dst []byte, s string) []byte {
	// A plain string that fits in dst's spare capacity: copied in one
	// pass, where the general loop below scans it, then copies it.
	if n := len(dst) + len(s) + 2; n <= cap(dst) {
		dst = dst[:n]
		d := dst[n-len(s)-2:]
		d[0], d[len(d)-1] = '"', '"'
		if copyPlain(d[1:len(d)-1], s) {
			return dst
		}
		dst = dst[:n-len(s)-2]
	}
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// A run of plain bytes is copied at once, when the next escape (or
		// the end) is reached.
		if i = skipPlain(s, i); i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// AppendText appends v as text: strings as they are, nil as nothing, numbers
// and booleans in their JSON form, objects and arrays as JSON.
func AppendText(b []byte, v any) []byte {
	switch t := v.(type) {
	case string:
		return append(b, t...)
	case nil:
		return b
	case int64:
		return strconv.AppendInt(b, t, 10)
	case bool:
		return strconv.AppendBool(b, t)
	case float64:
		if t == float64(int64(t)) && t < 1e15 && t > -1e15 {
			return strconv.AppendInt(b, int64(t), 10)
		}
		return strconv.AppendFloat(b, t, 'f', -1, 64)
	}
	out, err := AppendJSON(b, v)
	if err != nil {
		return append(b, err.Error()...)
	}
	return out
}
