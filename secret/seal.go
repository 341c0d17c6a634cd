package secret

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// KeySize is the size of a master key in bytes.
const KeySize = 32

// A sealed blob is: version (1 byte) | key id (8) | nonce (12) | AES-GCM
// ciphertext and tag. The header is authenticated as associated data.
const (
	version   = 1
	idSize    = 8
	nonceSize = 12
	headSize  = 1 + idSize + nonceSize
)

// Sealer encrypts and decrypts small secrets with AES-256-GCM under one
// master key. It is safe for concurrent use.
type Sealer struct {
	aead cipher.AEAD
	id   [idSize]byte
}

// NewSealer returns a Sealer for a 32-byte master key. The encryption key
// and the key id are derived from it with HKDF-SHA256, so the id reveals
// nothing of the key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("%w: it is %d bytes; want %d", ErrBadKey, len(key), KeySize)
	}
	enc, err := hkdf.Key(sha256.New, key, nil, "nectar seal v1", 32)
	if err != nil {
		return nil, fmt.Errorf("secret: derive key: %w", err)
	}
	id, err := hkdf.Key(sha256.New, key, nil, "nectar key id v1", idSize)
	if err != nil {
		return nil, fmt.Errorf("secret: derive key id: %w", err)
	}
	block, err := aes.NewCipher(enc)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	s := &Sealer{aead: aead}
	copy(s.id[:], id)
	return s, nil
}

// KeyID returns the hex id of the master key, which sealed blobs carry. It
// is safe to print: it identifies the key without revealing it.
func (s *Sealer) KeyID() string { return hex.EncodeToString(s.id[:]) }

// BlobKeyID returns the id of the key that sealed blob (as KeyID spells
// it), read from the blob's header without opening it; false when blob is
// not a sealed blob.
func BlobKeyID(blob []byte) (string, bool) {
	if len(blob) < headSize+16 || blob[0] != version { // 16: the GCM tag
		return "", false
	}
	return hex.EncodeToString(blob[1 : 1+idSize]), true
}

// Seal encrypts plaintext with a fresh random nonce. aad (associated data,
// may be nil) is authenticated but not stored: Open must be given the same,
// so passing where the blob lives (such as "accounts/crm") stops a blob
// from being moved to another record.
func (s *Sealer) Seal(plaintext, aad []byte) []byte {
	out := make([]byte, headSize, headSize+len(plaintext)+s.aead.Overhead())
	out[0] = version
	copy(out[1:], s.id[:])
	_, _ = rand.Read(out[1+idSize : headSize]) // never fails since Go 1.24
	return s.aead.Seal(out, out[1+idSize:headSize], plaintext, s.ad(out[:headSize], aad))
}

// ad is the associated data: the blob's header, then the caller's aad. It
// is a copy, since the AEAD interface forbids it to overlap the output.
func (s *Sealer) ad(head, aad []byte) []byte {
	ad := make([]byte, 0, len(head)+len(aad))
	return append(append(ad, head...), aad...)
}

// Open decrypts a blob from Seal. It returns ErrWrongKey when another key
// sealed it and ErrTampered when the blob or aad differ from what was
// sealed; it never returns garbage.
func (s *Sealer) Open(blob, aad []byte) ([]byte, error) {
	if len(blob) < headSize+s.aead.Overhead() || blob[0] != version {
		return nil, ErrTampered
	}
	if !bytes.Equal(blob[1:1+idSize], s.id[:]) {
		return nil, fmt.Errorf("%w (key id %x, this key is %s)", ErrWrongKey, blob[1:1+idSize], s.KeyID())
	}
	plain, err := s.aead.Open(nil, blob[1+idSize:headSize], blob[headSize:], s.ad(blob[:headSize], aad))
	if err != nil {
		return nil, ErrTampered
	}
	return plain, nil
}

// SealSecret seals the value of sec.
func (s *Sealer) SealSecret(sec Secret, aad []byte) []byte {
	return s.Seal([]byte(sec.Reveal()), aad)
}

// OpenSecret opens a blob sealed by SealSecret.
func (s *Sealer) OpenSecret(blob, aad []byte) (Secret, error) {
	plain, err := s.Open(blob, aad)
	if err != nil {
		return Secret{}, err
	}
	return New(string(plain)), nil
}

// Reseal opens blob with from and seals it again with to: one step of a
// key rotation. A blob already sealed by to is returned unchanged, so a
// rotation interrupted halfway can simply be run again.
func Reseal(from, to *Sealer, blob, aad []byte) ([]byte, error) {
	if len(blob) >= headSize && bytes.Equal(blob[1:1+idSize], to.id[:]) {
		if _, err := to.Open(blob, aad); err != nil {
			return nil, err
		}
		return blob, nil
	}
	plain, err := from.Open(blob, aad)
	if err != nil {
		return nil, err
	}
	return to.Seal(plain, aad), nil
}
