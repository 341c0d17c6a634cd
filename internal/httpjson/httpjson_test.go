package httpjson_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

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

// TestDateHeader serves JSON, Error and Response on a real server: each
// answer has one Date header, net/http's format, for a second between the
// request and its answer; a Date the handler or the pipeline's headers set
// is the one sent.
func TestDateHeader(t *testing.T) {
	const own = "Tue, 01 Dec 2026 10:00:00 GMT"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/json":
			httpjson.JSON(w, http.StatusOK, []byte(`{}`))
		case "/error":
			httpjson.Error(w, http.StatusTeapot, "no")
		case "/response":
			httpjson.Response(w, http.StatusCreated, http.Header{"X-A": {"1"}}, []byte("hi"))
		case "/own-json":
			w.Header().Set("Date", own)
			httpjson.JSON(w, http.StatusOK, []byte(`{}`))
		case "/own-response":
			httpjson.Response(w, http.StatusOK, http.Header{"Date": {own}}, []byte("hi"))
		}
	}))
	defer srv.Close()
	for _, tc := range []struct{ path, want string }{
		{"/json", ""}, {"/error", ""}, {"/response", ""}, {"/own-json", own}, {"/own-response", own},
	} {
		t.Run(tc.path, func(t *testing.T) {
			before := time.Now().Truncate(time.Second)
			resp, err := http.Get(srv.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			after := time.Now()
			dates := resp.Header.Values("Date")
			if len(dates) != 1 {
				t.Fatalf("Date headers %q, want one", dates)
			}
			if tc.want != "" {
				if dates[0] != tc.want {
					t.Errorf("Date %q, want the handler's %q", dates[0], tc.want)
				}
				return
			}
			at, err := time.Parse(http.TimeFormat, dates[0])
			if err != nil || at.Format(http.TimeFormat) != dates[0] {
				t.Fatalf("Date %q is not in http.TimeFormat: %v", dates[0], err)
			}
			if at.Before(before) || at.After(after) {
				t.Errorf("Date %v is not between the request (%v) and its answer (%v)", at, before, after)
			}
		})
	}
}
