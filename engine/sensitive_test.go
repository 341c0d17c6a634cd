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

// TestSensitiveFieldNamesOfOtherAPIs: names other APIs give credentials
// (AWS SecretAccessKey's secret_key, access_key, session_token; X-Auth-Token;
// pwd, otp, passphrase, private_key, credential) are masked by default, and
// spaces around or inside a key do not hide one ("password ", " api key").
func TestSensitiveFieldNamesOfOtherAPIs(t *testing.T) {
	for _, k := range []string{
		"credential", "Credentials", "secret_key", "SecretKey", "access_key", "AccessKey", "session_token",
		"SessionToken", "x-auth-token", "X_AUTH_TOKEN", "pwd", "PWD", "otp", "OTP", "passphrase", "PassPhrase",
		"private_key", "privateKey", "password ", " password", "\tpassword", " client secret ", "api key",
	} {
		if !engine.SensitiveField(k) {
			t.Errorf("SensitiveField(%q) = false, want true", k)
		}
	}
	for _, k := range []string{"credentialed", "otp_sent", "access", "session", " ", "key id"} {
		if engine.SensitiveField(k) {
			t.Errorf("SensitiveField(%q) = true, want false", k)
		}
	}
	if !engine.SensitiveField("card number ", []string{"card_number"}) {
		t.Error(`SensitiveField("card number ", [card_number]) = false, want true`)
	}
}

// TestSensitiveFieldDottedNames: systems configured in the properties style
// send client.secret, api.key or access.token; a dot joins words as _ and -
// do, so these are the sensitive names they spell (they were stored in
// clear), and a pipeline's own names match dotted spellings both ways.
func TestSensitiveFieldDottedNames(t *testing.T) {
	for _, k := range []string{"client.secret", "Client.Secret", "api.key", "x.api.key", "access.token", "refresh.token", "private.key", "pass.word"} {
		if !engine.SensitiveField(k) {
			t.Errorf("SensitiveField(%q) = false, want true", k)
		}
	}
	for _, k := range []string{".", "..", "token.count", "key.id", "secret.santa"} {
		if engine.SensitiveField(k) {
			t.Errorf("SensitiveField(%q) = true, want false", k)
		}
	}
	if !engine.SensitiveField("card.number", []string{"card_number"}) || !engine.SensitiveField("card_number", []string{"card.number"}) {
		t.Error("card.number and card_number are not one name")
	}
}
