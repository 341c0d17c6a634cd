package engine_test

import (
	"testing"

	"github.com/nectar-run/nectar/engine"
)

// TestSensitiveFieldSpellings: a sensitive name matches whatever its case
// and whether its words are joined by _, - or nothing (#12.3 c): Password,
// APIKEY, X-Api-Key, clientSecret and Token were stored in clear.
func TestSensitiveFieldSpellings(t *testing.T) {
	for _, k := range []string{
		"password", "Password", "PASSWORD", "APIKEY", "api-key", "Api_Key", "X-Api-Key", "x_api_key",
		"client_secret", "clientSecret", "client-secret", "CLIENT_SECRET", "ClientSecret",
		"Token", "ACCESS_TOKEN", "accessToken", "refresh-token", "Authorization", "private-key",
	} {
		if !engine.SensitiveField(k) {
			t.Errorf("SensitiveField(%q) = false, want true", k)
		}
	}
	for _, k := range []string{"name", "tokens_left", "passwordless", "key", "secretary", "", "_", "-"} {
		if engine.SensitiveField(k) {
			t.Errorf("SensitiveField(%q) = true, want false", k)
		}
	}
	// A pipeline's own names match the same way, in both directions.
	for _, k := range []string{"pin", "PIN", "card_number", "cardNumber", "Card-Number"} {
		if !engine.SensitiveField(k, []string{"Pin", "card_number"}) {
			t.Errorf("SensitiveField(%q, [Pin card_number]) = false, want true", k)
		}
	}
	if engine.SensitiveField("pins", []string{"pin"}) {
		t.Error("SensitiveField(pins, [pin]) = true, want false")
	}
}

func BenchmarkSensitiveField(b *testing.B) {
	local := []string{"clientSecret", "jws"}
	for range b.N {
		engine.SensitiveField("customer_name", local)
		engine.SensitiveField("id", local)
		engine.SensitiveField("ClientSecret", local)
	}
}
