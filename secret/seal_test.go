package secret_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/secret"
)

func mustSealer(t testing.TB, key []byte) *secret.Sealer {
	t.Helper()
	s, err := secret.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealRoundTrip(t *testing.T) {
	s := mustSealer(t, secret.GenerateKey())
	tests := []struct {
		name       string
		plain, aad []byte
	}{
		{"empty", nil, nil},
		{"token", []byte("ya29.a0AfH6SMB"), nil},
		{"with associated data", []byte("refresh-token"), []byte("tokens/drive")},
		{"large", bytes.Repeat([]byte{0xab}, 64<<10), []byte("x")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			blob := s.Seal(tt.plain, tt.aad)
			if len(tt.plain) > 4 && bytes.Contains(blob, tt.plain) {
				t.Fatal("blob contains the plaintext")
			}
			got, err := s.Open(blob, tt.aad)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.plain) {
				t.Fatalf("Open = %q; want %q", got, tt.plain)
			}
			if again := s.Seal(tt.plain, tt.aad); bytes.Equal(again, blob) {
				t.Fatal("two seals of one plaintext are equal: the nonce is not random")
			}
		})
	}
	sec, err := s.OpenSecret(s.SealSecret(secret.New("pw"), nil), nil)
	if err != nil || sec.Reveal() != "pw" {
		t.Fatalf("OpenSecret = %v, %v", sec.Reveal(), err)
	}
}

func TestSealTamperDetected(t *testing.T) {
	s := mustSealer(t, secret.GenerateKey())
	aad := []byte("accounts/crm")
	blob := s.Seal([]byte("client-secret"), aad)
	for i := range blob {
		bad := bytes.Clone(blob)
		bad[i] ^= 0x01
		_, err := s.Open(bad, aad)
		if !errors.Is(err, secret.ErrTampered) && !errors.Is(err, secret.ErrWrongKey) {
			t.Fatalf("flipping byte %d: Open returned %v", i, err)
		}
	}
	for n := range len(blob) {
		if _, err := s.Open(blob[:n], aad); !errors.Is(err, secret.ErrTampered) {
			t.Fatalf("truncated to %d bytes: Open returned %v", n, err)
		}
	}
	if _, err := s.Open(blob, []byte("accounts/other")); !errors.Is(err, secret.ErrTampered) {
		t.Fatalf("other associated data: Open returned %v", err)
	}
	if _, err := s.Open(append(bytes.Clone(blob), 0), aad); !errors.Is(err, secret.ErrTampered) {
		t.Fatalf("extended blob: Open returned %v", err)
	}
}

func TestSealWrongKey(t *testing.T) {
	a, b := mustSealer(t, secret.GenerateKey()), mustSealer(t, secret.GenerateKey())
	_, err := b.Open(a.Seal([]byte("token"), nil), nil)
	if !errors.Is(err, secret.ErrWrongKey) {
		t.Fatalf("Open with another key: %v; want ErrWrongKey", err)
	}
	if !strings.Contains(err.Error(), "sealed with another master key") || !strings.Contains(err.Error(), a.KeyID()) {
		t.Fatalf("error does not explain itself: %v", err)
	}
	if a.KeyID() == b.KeyID() || len(a.KeyID()) != 16 {
		t.Fatalf("key ids %s and %s", a.KeyID(), b.KeyID())
	}
	if _, err := secret.NewSealer(make([]byte, 16)); !errors.Is(err, secret.ErrBadKey) {
		t.Fatalf("NewSealer(16 bytes): %v", err)
	}
}

func TestReseal(t *testing.T) {
	old, next := mustSealer(t, secret.GenerateKey()), mustSealer(t, secret.GenerateKey())
	aad := []byte("tokens/drive")
	blob := old.Seal([]byte("refresh"), aad)
	moved, err := secret.Reseal(old, next, blob, aad)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := next.Open(moved, aad); err != nil || string(got) != "refresh" {
		t.Fatalf("new key opens %q, %v", got, err)
	}
	if _, err := old.Open(moved, aad); !errors.Is(err, secret.ErrWrongKey) {
		t.Fatalf("old key opens the resealed blob: %v", err)
	}
	again, err := secret.Reseal(old, next, moved, aad)
	if err != nil || !bytes.Equal(again, moved) {
		t.Fatalf("resealing twice: %v (changed %v)", err, !bytes.Equal(again, moved))
	}
	third := mustSealer(t, secret.GenerateKey())
	if _, err := secret.Reseal(third, next, old.Seal([]byte("x"), nil), nil); !errors.Is(err, secret.ErrWrongKey) {
		t.Fatalf("Reseal from the wrong key: %v", err)
	}
}

func BenchmarkSeal(b *testing.B) {
	s := mustSealer(b, secret.GenerateKey())
	plain := []byte("ya29.a0AfH6SMBx-an-access-token-of-typical-length-0123456789")
	b.ReportAllocs()
	for b.Loop() {
		s.Seal(plain, nil)
	}
}

func BenchmarkOpen(b *testing.B) {
	s := mustSealer(b, secret.GenerateKey())
	blob := s.Seal([]byte("ya29.a0AfH6SMBx-an-access-token-of-typical-length-0123456789"), nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Open(blob, nil); err != nil {
			b.Fatal(err)
		}
	}
}
