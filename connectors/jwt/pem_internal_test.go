package jwt

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"
)

// TestPEMBlockTypes reads a key of every PEM block type the key tables
// name, and refuses a block of another type with its type in the message.
func TestPEMBlockTypes(t *testing.T) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block := func(typ string, der []byte) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
	}
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(rk)
	ecDER, _ := x509.MarshalECPrivateKey(ek)
	pkixDER, _ := x509.MarshalPKIXPublicKey(&ek.PublicKey)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "nectar"}, NotAfter: time.Now().Add(time.Hour)}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &rk.PublicKey, rk)
	if err != nil {
		t.Fatal(err)
	}

	for typ, der := range map[string][]byte{"PRIVATE KEY": pkcs8, "RSA PRIVATE KEY": x509.MarshalPKCS1PrivateKey(rk), "EC PRIVATE KEY": ecDER} {
		if _, err := parsePrivateKey(block(typ, der)); err != nil {
			t.Errorf("private %s: %v", typ, err)
		}
	}
	// Every public block of one PEM text, in order.
	pub, err := parsePublicKeys(block("PUBLIC KEY", pkixDER) + block("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&rk.PublicKey)) + block("CERTIFICATE", cert))
	if err != nil {
		t.Fatal(err)
	}
	if len(pub) != 3 || !ek.PublicKey.Equal(pub[0]) || !rk.PublicKey.Equal(pub[1]) || !rk.PublicKey.Equal(pub[2]) {
		t.Errorf("public keys = %T, want the EC key, then the RSA key twice", pub)
	}

	if _, err := parsePrivateKey(block("CERTIFICATE", cert)); err == nil || !strings.Contains(err.Error(), `"CERTIFICATE" is not a private key`) {
		t.Errorf("a certificate as the private key: %v", err)
	}
	if _, err := parsePublicKeys(block("EC PRIVATE KEY", ecDER)); err == nil || !strings.Contains(err.Error(), `"EC PRIVATE KEY" is not a public key`) {
		t.Errorf("a private key as the public key: %v", err)
	}
	if _, err := parsePrivateKey(block("RSA PRIVATE KEY", ecDER)); err == nil || err.Error() != "the private key cannot be parsed" {
		t.Errorf("an EC key in an RSA block: %v", err)
	}
}
