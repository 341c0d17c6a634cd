package httpjson_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
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

// TestContentLengthShared: the Content-Length of every answer is its
// body's length, for lengths in the cache (0, 1, 4096) and past it (4097),
// answered twice each; an Add to one answer's shared value, which copies
// it, leaves the next answer of that length as it was.
func TestContentLengthShared(t *testing.T) {
	for _, n := range []int{0, 1, 9, 10, 99, 100, 1023, 4096, 4097, 70000} {
		body := bytes.Repeat([]byte("1"), n)
		first := httptest.NewRecorder()
		httpjson.JSON(first, http.StatusOK, body)
		first.Header().Add("Content-Length", "tampered")
		second := httptest.NewRecorder()
		httpjson.JSON(second, http.StatusOK, body)
		third := httptest.NewRecorder()
		httpjson.Response(third, http.StatusOK, nil, body)
		for i, w := range []*httptest.ResponseRecorder{second, third} {
			if got, want := w.Header()["Content-Length"], []string{strconv.Itoa(n)}; !slices.Equal(got, want) {
				t.Errorf("length %d, answer %d: Content-Length %q, want %q", n, i+2, got, want)
			}
			if w.Body.Len() != n {
				t.Errorf("length %d, answer %d: body of %d bytes", n, i+2, w.Body.Len())
			}
		}
	}
}
