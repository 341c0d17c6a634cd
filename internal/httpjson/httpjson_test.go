package httpjson_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/nectar-run/nectar/internal/httpjson"
)

// TestNewRequest sends what NewRequest builds to a real server and checks
// what arrives: a JSON body with its Content-Type, or neither without a body.
func TestNewRequest(t *testing.T) {
	type seen struct{ method, ctype, body string }
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.Header.Get("Content-Type"), string(b)}
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name string
		body any
		want seen
	}{
		{"with a body", map[string]string{"name": "shop"}, seen{"POST", "application/json", `{"name":"shop"}`}},
		{"without a body", nil, seen{"POST", "", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := httpjson.NewRequest(context.Background(), http.MethodPost, srv.URL+"/api/consumers", tc.body)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if s := <-got; s != tc.want {
				t.Errorf("server saw %+v, want %+v", s, tc.want)
			}
		})
	}
	if _, err := httpjson.NewRequest(context.Background(), http.MethodPost, srv.URL, func() {}); err == nil {
		t.Error("a body JSON cannot encode: no error")
	} else if _, ok := err.(*json.UnsupportedTypeError); !ok {
		t.Errorf("error %T %v, want the encoder's *json.UnsupportedTypeError", err, err)
	}
}
