package accounts

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// The shape of token requests (Celigo's "Override access token HTTP
// headers / request body" and "Override refresh token HTTP headers /
// request body").
//
// A token request starts as the standard one: POST, Content-Type
// application/x-www-form-urlencoded, Accept application/json, the grant's
// parameters, token_params, and the client credentials in the body or a
// Basic header (client_auth). Then:
//
//   - token_headers replace headers of every token request, refresh_headers
//     those of refresh requests (after token_headers). Values may hold
//     placeholders;
//   - the body is token_body (access-token requests: client credentials,
//     code exchange) or refresh_body (refresh requests) when set, with its
//     placeholders filled in; otherwise the parameters, encoded as the
//     final Content-Type says: a JSON object for application/json (or any
//     +json type), a form otherwise.
//
// Placeholders are {{name}} (spaces allowed inside, and Celigo's
// {{{name}}} too) where name is one of TemplateNames. A value is escaped
// for where it lands: as the inside of a JSON string in a JSON body, form
// encoded in a form body, as it is elsewhere. A placeholder the request
// has no value for (code in a refresh) is empty.

// TemplateNames are the placeholders of token_body, refresh_body,
// token_headers and refresh_headers, with Celigo's spellings as aliases.
var TemplateNames = []string{"client_id", "client_secret", "grant_type", "scope", "refresh_token", "code", "redirect_uri", "code_verifier"}

var templateAliases = map[string]string{
	"clientId": "client_id", "clientSecret": "client_secret", "grantType": "grant_type",
	"refreshToken": "refresh_token", "redirectUri": "redirect_uri", "codeVerifier": "code_verifier",
}

var placeholderRE = regexp.MustCompile(`\{\{\{?\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}?\}\}`)

// checkTemplate returns an error naming the first unknown placeholder of s.
func checkTemplate(field, s string) error {
	for _, m := range placeholderRE.FindAllStringSubmatch(s, -1) {
		name := m[1]
		if a, ok := templateAliases[name]; ok {
			name = a
		}
		found := false
		for _, n := range TemplateNames {
			found = found || n == name
		}
		if !found {
			return fmt.Errorf("%s: unknown placeholder {{%s}}: use one of %s", field, preview(m[1], 40), strings.Join(TemplateNames, ", "))
		}
	}
	return nil
}

// expandTemplate fills the placeholders of s with vars, each escaped by esc.
func expandTemplate(s string, vars map[string]string, esc func(string) string) string {
	return placeholderRE.ReplaceAllStringFunc(s, func(ph string) string {
		name := placeholderRE.FindStringSubmatch(ph)[1]
		if a, ok := templateAliases[name]; ok {
			name = a
		}
		return esc(vars[name])
	})
}

// jsonStringContent escapes s as the inside of a JSON string.
func jsonStringContent(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	out := strings.TrimSpace(b.String())
	return out[1 : len(out)-1]
}

func rawValue(s string) string { return s }

// isJSONType reports whether a Content-Type is JSON (application/json or
// any +json type).
func isJSONType(contentType string) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

func isFormType(contentType string) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	return mt == "application/x-www-form-urlencoded"
}

// tokenHeaders returns the headers of a token request (refresh: a refresh
// request) before placeholders are filled in: the defaults (with
// Authorization basic, when not empty), then token_headers, then
// refresh_headers.
func (a *Account) tokenHeaders(refresh bool, basic string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	h.Set("Accept", "application/json")
	if basic != "" {
		h.Set("Authorization", basic)
	}
	for k, v := range a.TokenHeaders {
		h.Set(k, v)
	}
	if refresh {
		for k, v := range a.RefreshHeaders {
			h.Set(k, v)
		}
	}
	return h
}

// validateTokenRequests checks the token-request overrides of a: known
// placeholders, and a JSON body template that stays JSON once filled in.
func (a *Account) validateTokenRequests() error {
	for _, o := range []struct {
		field   string
		headers map[string]string
		body    string
		refresh bool
	}{{"token", a.TokenHeaders, a.TokenBody, false}, {"refresh", a.RefreshHeaders, a.RefreshBody, true}} {
		for k, v := range o.headers {
			if k == "" || strings.ContainsAny(k, " :\r\n") || strings.ContainsAny(v, "\r\n") {
				return fmt.Errorf("%s_headers: %q is not a header name, or its value spans lines", o.field, preview(k, 40))
			}
			if err := checkTemplate(o.field+"_headers "+k, v); err != nil {
				return err
			}
		}
		if o.body == "" {
			continue
		}
		if err := checkTemplate(o.field+"_body", o.body); err != nil {
			return err
		}
		if ct := a.tokenHeaders(o.refresh, "").Get("Content-Type"); isJSONType(ct) {
			sample := map[string]string{}
			for _, n := range TemplateNames {
				sample[n] = "x"
			}
			if !json.Valid([]byte(expandTemplate(o.body, sample, jsonStringContent))) {
				return fmt.Errorf("%s_body is sent as %s but is not JSON once its placeholders are filled in (write them inside quotes: \"{{client_id}}\")", o.field, ct)
			}
		}
	}
	return nil
}

// newTokenRequest builds the POST of form to a token endpoint with a's
// client authentication, token_params and overrides (see the comment at
// the top of this file). A refresh request is one whose grant_type is
// refresh_token.
func newTokenRequest(ctx context.Context, a *Account, endpoint string, form url.Values) (*http.Request, error) {
	refresh := form.Get("grant_type") == "refresh_token"
	basic := a.ClientAuth == "basic"
	vars := map[string]string{"client_id": a.ClientID, "client_secret": a.ClientSecret.Reveal()}
	for k := range form {
		vars[k] = form.Get(k)
	}
	params := url.Values{}
	for k, v := range form {
		params[k] = v
	}
	for k, v := range a.TokenParams {
		params.Set(k, v)
	}
	if !basic && a.ClientID != "" {
		params.Set("client_id", a.ClientID)
		if !a.ClientSecret.IsZero() {
			params.Set("client_secret", a.ClientSecret.Reveal())
		}
	}
	var auth string
	if basic {
		// RFC 6749 §2.3.1: form-encode both parts before Basic encoding.
		auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(a.ClientID)+":"+url.QueryEscape(a.ClientSecret.Reveal())))
	}
	h := a.tokenHeaders(refresh, auth)
	for k, vs := range h {
		for i := range vs {
			vs[i] = expandTemplate(vs[i], vars, rawValue)
			if strings.ContainsAny(vs[i], "\r\n") {
				return nil, fmt.Errorf("header %s of the token request spans lines once filled in", k)
			}
		}
	}
	ct := h.Get("Content-Type")
	tmpl := a.TokenBody
	if refresh {
		tmpl = a.RefreshBody
	}
	var body []byte
	switch {
	case tmpl != "" && isJSONType(ct):
		body = []byte(expandTemplate(tmpl, vars, jsonStringContent))
		if !json.Valid(body) {
			return nil, fmt.Errorf("the %s body is not JSON once filled in", kindOf(refresh))
		}
	case tmpl != "" && isFormType(ct):
		body = []byte(expandTemplate(tmpl, vars, url.QueryEscape))
	case tmpl != "":
		body = []byte(expandTemplate(tmpl, vars, rawValue))
	case isJSONType(ct):
		// The parameters as a JSON object of strings, keys sorted.
		keys := slices.Sorted(maps.Keys(params))
		var b bytes.Buffer
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`"` + jsonStringContent(k) + `":"` + jsonStringContent(params.Get(k)) + `"`)
		}
		b.WriteByte('}')
		body = b.Bytes()
	default:
		body = []byte(params.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range h {
		req.Header[k] = v
	}
	return req, nil
}

func kindOf(refresh bool) string {
	if refresh {
		return "refresh request"
	}
	return "token request"
}
