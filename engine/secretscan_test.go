package engine_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine"
)

// containsRef is what HoldsSecret must answer: strings.Contains over each
// value of at least engine.MinSecretLen bytes.
func containsRef(text string, lists ...[]string) bool {
	for _, l := range lists {
		for _, v := range l {
			if len(v) >= engine.MinSecretLen && strings.Contains(text, v) {
				return true
			}
		}
	}
	return false
}

// maskRef is what MaskSecrets must return: the first held value of lists
// replaced everywhere, again until none is held.
func maskRef(text string, lists ...[]string) string {
	for {
		found := ""
		for _, l := range lists {
			for _, v := range l {
				if found == "" && len(v) >= engine.MinSecretLen && strings.Contains(text, v) {
					found = v
				}
			}
		}
		if found == "" {
			return text
		}
		text = strings.ReplaceAll(text, found, "***")
	}
}

// checkScan compares HoldsSecret and MaskSecrets with the references.
func checkScan(t *testing.T, text string, lists ...[]string) {
	t.Helper()
	if got, want := engine.HoldsSecret(text, lists...), containsRef(text, lists...); got != want {
		t.Fatalf("HoldsSecret(%q, %q) = %v, strings.Contains says %v", text, lists, got, want)
	}
	if got, want := engine.MaskSecrets(text, lists...), maskRef(text, lists...); got != want {
		t.Fatalf("MaskSecrets(%q, %q) = %q, want %q", text, lists, got, want)
	}
}

// TestHoldsSecretEveryOffset: a secret is found at every offset of texts
// of every length around it, alone, repeated, cut short by one byte at
// either end, and among texts made of its own bytes (where the search
// meets a candidate at every byte).
func TestHoldsSecretEveryOffset(t *testing.T) {
	secrets := []string{
		"admin-key", "12345678", "aaaaaaaa", "abababab", "ZZ-top_9!", "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
		"pässwörd-ü", "秘密の鍵です", "\x00\x01\x02\x03\x04\x05\x06\x07", strings.Repeat("x", 70) + "-y",
		"\"quoted\":\"json\"",
	}
	fillers := []string{"a", "e", "-", "\"", "x", "aaaaaaa-", "ab", "ä", "秘", "\x00"}
	for _, s := range secrets {
		for _, f := range fillers {
			for n := 0; n <= 2*len(s)+3; n++ {
				pad := strings.Repeat(f, n)[:n] // may cut a rune: bytes are what is searched
				for _, text := range []string{
					pad + s, s + pad, pad + s + pad, pad[:n/2] + s + pad[n/2:],
					pad + s[1:], s[:len(s)-1] + pad, pad + s[:len(s)-1] + s[len(s)-1:len(s)-1] + pad,
					pad + s[:len(s)/2] + pad + s[len(s)/2:], pad + s + s + pad, pad,
				} {
					checkScan(t, text, []string{s})
					checkScan(t, text, []string{"not-in-text", s}, []string{"short"})
				}
			}
		}
	}
}

// TestHoldsSecretOverlapping: secrets that overlap each other or share
// their rare bytes, found as strings.Contains finds them, masked in the
// same order.
func TestHoldsSecretOverlapping(t *testing.T) {
	lists := [][]string{{"key-key-key", "-key-key-"}, {"aaaa-aaaa", "aaaa-aaaa-aaaa"}}
	for _, text := range []string{
		"key-key-key-key", "x-key-key-y", "aaaa-aaaa-aaaa-aaaa", "aaaa-aaa-aaaa", "aaaa-aaaa", "key-key-ke",
		"-key-key-key-key-", "aaaa-aaaa-aaaa", "aaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaa",
	} {
		checkScan(t, text, lists...)
	}
}

// TestHoldsSecretRandom compares the search with strings.Contains over
// random texts and secrets drawn from small alphabets (so that candidates
// and near misses are many), secrets planted at random offsets, many
// secrets at once, and long texts (past the search's cutover to
// strings.Index).
func TestHoldsSecretRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 2026))
	alphabets := []string{"ab", "ab-", "aeiou\"-:,", "abcdefghijklmnopqrstuvwxyz0123456789-_", "aä秘\x00Z"}
	word := func(alpha string, n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alpha[rng.IntN(len(alpha))]
		}
		return string(b)
	}
	for range 20000 {
		alpha := alphabets[rng.IntN(len(alphabets))]
		text := word(alpha, rng.IntN(300))
		if rng.IntN(8) == 0 {
			text = word(alpha, 2000+rng.IntN(3000))
		}
		var lists [][]string
		for range 1 + rng.IntN(3) {
			var l []string
			for range rng.IntN(6) {
				s := word(alpha, 4+rng.IntN(20))
				if rng.IntN(2) == 0 && len(s) <= len(text) {
					at := rng.IntN(len(text) - len(s) + 1)
					text = text[:at] + s + text[at+len(s):]
				}
				l = append(l, s)
			}
			lists = append(lists, l)
		}
		checkScan(t, text, lists...)
	}
}

// FuzzHoldsSecret compares the search with strings.Contains.
func FuzzHoldsSecret(f *testing.F) {
	f.Add("xx admin-key yy", "admin-key", "other-value")
	f.Add("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", "aaaaaaaab", "aaaaaaaaa")
	f.Fuzz(func(t *testing.T, text, a, b string) {
		checkScan(t, text, []string{a}, []string{b, a})
	})
}

// benchText is a ~1 KB JSON record (server's benchCustomer): what the
// history searches for secrets in every request's input and output.
const benchText = `{"id":"c-000184223","first_name":"Margarethe","last_name":"Villanueva-Okonkwo","email":"m.villanueva.okonkwo@example.com","phone":"+44 20 7946 0958","created_at":"2023-04-18T09:27:41Z","status":"active","tier":"gold","marketing_opt_in":true,"lifetime_value":18422.75,"credit_limit":25000,"tags":["wholesale","priority","eu-vat","net-30"],"address":{"line1":"Flat 4, 221 Kingsland Road","line2":"Haggerston","city":"London","region":"Greater London","postal_code":"E2 8AN","country":"GB"},"billing":{"currency":"GBP","vat_number":"GB123456789","payment_terms_days":30,"iban_last4":"4821"},"preferences":{"language":"en-GB","timezone":"Europe/London","channels":["email","sms"],"newsletter":false},"orders":[{"order_id":"o-99120","total":412.5,"items":3,"placed_at":"2024-11-02T14:03:11Z"},{"order_id":"o-99533","total":87.2,"items":1,"placed_at":"2024-12-19T08:45:00Z"},{"order_id":"o-100871","total":1290,"items":12,"placed_at":"2025-01-07T17:22:36Z"}],"notes":"Prefers delivery before noon; loading bay at rear entrance."}`

// BenchmarkHoldsSecret searches benchText, which holds none, for the
// admin key (the one secret of server's benchmarks), then for a few
// secrets of the kinds Nectar holds (keys, client secrets, tokens); then
// a short string for them.
func BenchmarkHoldsSecret(b *testing.B) {
	four := []string{"admin-key", "s3cr3t-client-secret-0001", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig", "4f9c2d1e8a7b6c5d"}
	for _, c := range []struct {
		name, text string
		secrets    []string
	}{
		{"admin-key", benchText, []string{"admin-key"}},
		{"four", benchText, four},
		{"short", "client_credentials read write", four}, // a string field of a token request
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if engine.HoldsSecret(c.text, c.secrets) {
					b.Fatal("found")
				}
			}
		})
	}
}
