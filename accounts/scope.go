package accounts

import (
	"context"

	"github.com/nectar-run/nectar/engine/value"
)

// scopeSecret names, by account type, the secret that is its main
// credential in a header scope (its key in Account.secrets); the other
// types' main credential is their current access token.
var scopeSecret = map[string]string{
	TypeBasic: "password", TypeAPIKey: "api_key", TypeCustomHeader: "header_value", TypeBearer: "token",
}

// HeaderScope returns what `{{ account.NAME.field }}` reads in header
// templates for the account: an object with
//
//   - name, type, and the non-secret fields username, key_name,
//     header_name, client_id;
//   - the fields Digibee exposes, secrets included, since header values go
//     only to the wire: password (basic), api_key (api-key), header_value
//     (custom-header), token (bearer; for OAuth types the current access
//     token, obtained or renewed as needed), and value, the account's main
//     credential under one name (Digibee's custom accounts:
//     `{{ account.custom-1.value }}`).
//
// The object is built for each call and must not be logged.
func (m *Manager) HeaderScope(ctx context.Context, account string) (any, error) {
	e, la, err := m.entry(ctx, account)
	if err != nil {
		return nil, err
	}
	a := la.a
	o := value.NewObject(8)
	o.Set("name", a.Name)
	o.Set("type", a.Type)
	set := func(k, v string) {
		if v != "" {
			o.Set(k, v)
		}
	}
	set("username", a.Username)
	set("key_name", a.KeyName)
	set("header_name", a.HeaderName)
	set("client_id", a.ClientID)
	var main string
	if field, ok := scopeSecret[a.Type]; ok {
		main = a.secrets()[field].Reveal()
		set(field, main)
	} else {
		t, err := m.accessToken(ctx, e, la, "")
		if err != nil {
			return nil, err
		}
		main = t.AccessToken
		set("token", main)
		set("access_token", main)
	}
	set("value", main)
	return o, nil
}
