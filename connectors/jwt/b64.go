package jwt

import (
	"encoding/base64"
	"encoding/binary"
	"slices"
)

// b64Alphabet is base64url's alphabet (RFC 4648 §5), the one of a JWS.
const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// b64Pairs holds the two characters of every 12-bit value, the first in the
// low byte: a token's payload and signature are encoded two characters per
// lookup instead of one (8 KiB).
var b64Pairs = func() (t [4096]uint16) {
	for v := range t {
		t[v] = uint16(b64Alphabet[v>>6]) | uint16(b64Alphabet[v&63])<<8
	}
	return t
}()

// appendB64 appends src encoded as base64url without padding, exactly as
// base64.RawURLEncoding.AppendEncode does, six bytes (eight characters) a
// step where eight bytes can be read.
func appendB64(dst, src []byte) []byte {
	n := base64.RawURLEncoding.EncodedLen(len(src))
	dst = slices.Grow(dst, n)
	out := dst[len(dst) : len(dst)+n]
	di := 0
	for len(src) >= 8 {
		v := binary.BigEndian.Uint64(src) >> 16 // the first 48 bits
		binary.LittleEndian.PutUint64(out[di:], uint64(b64Pairs[v>>36])|
			uint64(b64Pairs[v>>24&0xfff])<<16|
			uint64(b64Pairs[v>>12&0xfff])<<32|
			uint64(b64Pairs[v&0xfff])<<48)
		src = src[6:]
		di += 8
	}
	for len(src) >= 3 {
		v := uint(src[0])<<16 | uint(src[1])<<8 | uint(src[2])
		binary.LittleEndian.PutUint16(out[di:], b64Pairs[v>>12])
		binary.LittleEndian.PutUint16(out[di+2:], b64Pairs[v&0xfff])
		src = src[3:]
		di += 4
	}
	switch len(src) {
	case 2:
		v := uint(src[0])<<10 | uint(src[1])<<2 // 18 bits, 3 characters
		binary.LittleEndian.PutUint16(out[di:], b64Pairs[v>>6])
		out[di+2] = b64Alphabet[v&63]
	case 1:
		binary.LittleEndian.PutUint16(out[di:], b64Pairs[uint(src[0])<<4])
	}
	return dst[:len(dst)+n]
}
