// Package oauth is the hand-written token endpoint the shipped oauth-token
// pipeline is measured against. It does what the pipeline does for the
// client_credentials grant, as a Go developer would write it with net/http
// and golang-jwt: read the form or JSON body, take the client credentials
// from HTTP Basic or the body, read the client from the same store record
// the credential provider writes, compare the secret's SHA-256 in constant
// time, check the scope, sign an HS256 access token and an HS512 refresh
// token with a random family, and answer JSON with Cache-Control: no-store.
package oauth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/nectar-run/nectar/store"
)

// ClientsBucket is where the credential provider keeps clients (the
// object-store collection oauth-clients).
const ClientsBucket = "objects/oauth-clients"

// Client is a client record as the credential provider stores it.
type Client struct {
	ClientID     string `json:"client_id"`
	PartnerID    string `json:"partnerId"`
	Role         string `json:"role"`
	Scope        string `json:"scope"`
	SecretSHA256 string `json:"secret_sha256"`
	CreatedAt    int64  `json:"created_at"`
}

// Server is the baseline token endpoint.
type Server struct {
	Store      store.Store
	AccessKey  []byte // HS256
	RefreshKey []byte // HS512
	Issuer     string
	Lifetime   time.Duration // access tokens
	RefreshFor time.Duration // refresh tokens
}

// SeedClient writes a client record as the credential provider would.
func SeedClient(ctx context.Context, st store.Store, id, secret, scope string) error {
	sum := sha256.Sum256([]byte(secret))
	b, err := json.Marshal(Client{ClientID: id, PartnerID: "bench", Role: "salesperson", Scope: scope, SecretSHA256: hex.EncodeToString(sum[:]), CreatedAt: time.Now().UnixMilli()})
	if err != nil {
		return err
	}
	_, err = st.Put(ctx, ClientsBucket, id, b)
	return err
}

type oauthError struct {
	status      int
	code, descr string
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	if r.Method != http.MethodPost {
		h.Set("Allow", "POST")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "invalid_request", "error_description": "use POST"})
		return
	}
	resp, oe := s.token(r)
	if oe != nil {
		if oe.status == http.StatusUnauthorized {
			h.Set("WWW-Authenticate", `Basic realm="nectar", error="invalid_client"`)
		}
		writeJSON(w, oe.status, map[string]string{"error": oe.code, "error_description": oe.descr})
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// tokenResponse keeps the pipeline's field order.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
}

func (s *Server) token(r *http.Request) (*tokenResponse, *oauthError) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, 64<<10))
	if err != nil {
		return nil, &oauthError{400, "invalid_request", "the body is too large"}
	}
	params := map[string]string{}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, &oauthError{400, "invalid_request", "malformed JSON"}
		}
		for k, v := range m {
			s, ok := v.(string)
			if !ok {
				return nil, &oauthError{400, "invalid_request", "parameters are strings"}
			}
			params[k] = s
		}
	default:
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, &oauthError{400, "invalid_request", "malformed form"}
		}
		for k, v := range vals {
			if len(v) != 1 {
				return nil, &oauthError{400, "invalid_request", "parameters are given once"}
			}
			params[k] = v[0]
		}
	}
	switch params["grant_type"] {
	case "client_credentials":
	case "":
		return nil, &oauthError{400, "invalid_request", "grant_type is required"}
	default:
		return nil, &oauthError{400, "unsupported_grant_type", "this server issues client_credentials only"}
	}
	id, secret := params["client_id"], params["client_secret"]
	if u, p, ok := r.BasicAuth(); ok {
		if secret != "" {
			return nil, &oauthError{400, "invalid_request", "use one client authentication method"}
		}
		var e1, e2 error
		id, e1 = url.QueryUnescape(u)
		secret, e2 = url.QueryUnescape(p)
		if e1 != nil || e2 != nil {
			return nil, &oauthError{401, "invalid_client", "malformed Basic credentials"}
		}
	}
	if id == "" || secret == "" || len(id) > 200 {
		return nil, &oauthError{401, "invalid_client", "client authentication failed"}
	}
	c, err := s.client(r.Context(), id)
	sum := sha256.Sum256([]byte(secret))
	got := hex.EncodeToString(sum[:])
	if err != nil || subtle.ConstantTimeCompare([]byte(got), []byte(c.SecretSHA256)) != 1 {
		return nil, &oauthError{401, "invalid_client", "client authentication failed"}
	}
	scope := params["scope"]
	if scope == "" {
		scope = c.Scope
	}
	for _, sc := range strings.Split(scope, " ") {
		if !strings.Contains(" "+c.Scope+" ", " "+sc+" ") {
			return nil, &oauthError{400, "invalid_scope", "the scope asked for is not granted to this client"}
		}
	}
	now := time.Now()
	fam := randomID()
	at, err1 := s.sign(gojwt.SigningMethodHS256, "at+jwt", s.AccessKey, gojwt.MapClaims{
		"iss": s.Issuer, "sub": c.ClientID, "iat": now.Unix(), "jti": randomID(),
		"exp": now.Add(s.Lifetime).Unix(), "client_id": c.ClientID, "scope": scope, "fam": fam,
	})
	rt, err2 := s.sign(gojwt.SigningMethodHS512, "refresh+jwt", s.RefreshKey, gojwt.MapClaims{
		"iss": s.Issuer, "sub": c.ClientID, "iat": now.Unix(), "jti": randomID(),
		"exp": now.Add(s.RefreshFor).Unix(), "client_id": c.ClientID, "scope": scope, "fam": fam, "gen": 0,
	})
	if err1 != nil || err2 != nil {
		return nil, &oauthError{500, "server_error", "internal error"}
	}
	return &tokenResponse{at, "Bearer", int64(s.Lifetime / time.Second), rt, scope}, nil
}

var errNoClient = errors.New("no such client")

func (s *Server) client(ctx context.Context, id string) (*Client, error) {
	it, err := s.Store.Get(ctx, ClientsBucket, id)
	if errors.Is(err, store.ErrNotFound) {
		return &Client{}, errNoClient
	}
	if err != nil {
		return &Client{}, err
	}
	var c Client
	if err := json.Unmarshal(it.Value, &c); err != nil {
		return &Client{}, err
	}
	return &c, nil
}

func (s *Server) sign(m gojwt.SigningMethod, typ string, key []byte, claims gojwt.MapClaims) (string, error) {
	t := gojwt.NewWithClaims(m, claims)
	t.Header["typ"] = typ
	return t.SignedString(key)
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
