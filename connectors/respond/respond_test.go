package respond_test

import (
	"context"
	"net/http"
	"reflect"
	"testing"

	_ "github.com/nectar-run/nectar/connectors/respond"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/triggers"
)

// TestRespondHeaders runs respond steps with headers (templated, written in
// any case, one naming Content-Type) and reads the response they set: each
// header holds its one value under its canonical name, the content_type
// option and a Content-Type header override the default, and a header
// value appended to later is not written into another header's.
func TestRespondHeaders(t *testing.T) {
	tests := []struct {
		name, step string
		want       http.Header
	}{
		{"json body", "respond: {status: 201, headers: {cache-control: no-store, X-Id: '{{ message.id }}'}}",
			http.Header{"Content-Type": {"application/json"}, "Cache-Control": {"no-store"}, "X-Id": {"7"}}},
		{"text body", "respond: {body: '{{ TOSTRING(message.id) }}', headers: {pragma: no-cache}}",
			http.Header{"Content-Type": {"text/plain; charset=utf-8"}, "Pragma": {"no-cache"}}},
		{"content_type option", "respond: {content_type: application/jwt, headers: {a: '1', b: '2'}}",
			http.Header{"Content-Type": {"application/jwt"}, "A": {"1"}, "B": {"2"}}},
		{"Content-Type header", "respond: {headers: {content-type: text/csv}}",
			http.Header{"Content-Type": {"text/csv"}}},
		{"no headers", "respond: {}", http.Header{"Content-Type": {"application/json"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := engine.Load("t.yaml", []byte("name: t\nsteps:\n  - "+tc.step+"\n"), engine.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			r := triggers.NewResponse(nil)
			ctx := triggers.WithResponse(context.Background(), r)
			if _, err := p.Run(ctx, &engine.Runtime{}, value.ObjectOf("id", int64(7)), engine.RunOptions{}); err != nil {
				t.Fatal(err)
			}
			_, h, _, set, _ := r.Get()
			if !set || !reflect.DeepEqual(h, tc.want) {
				t.Fatalf("got %v (set %v), want %v", h, set, tc.want)
			}
			for k := range h {
				h.Add(k, "later")
			}
			for k, v := range h {
				if len(v) != 2 || v[0] != tc.want[k][0] {
					t.Fatalf("after Add, %s = %q", k, v)
				}
			}
		})
	}
}

// TestRespondHeadersSharedValuesStayPut runs one respond step (literal
// headers, the default and the content_type Content-Types, whose values are
// prepared at compile and shared) twice and writes into the first
// response's header with Add and Set: the second response's header is
// still exactly what the step sets.
func TestRespondHeadersSharedValuesStayPut(t *testing.T) {
	for _, step := range []string{
		"respond: {status: 201, headers: {cache-control: no-store, X-A: '1'}}",
		"respond: {body: text, headers: {pragma: no-cache}}",
		"respond: {content_type: application/jwt, headers: {X-B: ''}}",
	} {
		p, err := engine.Load("t.yaml", []byte("name: t\nsteps:\n  - "+step+"\n"), engine.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		run := func() http.Header {
			r := triggers.NewResponse(nil)
			ctx := triggers.WithResponse(context.Background(), r)
			if _, err := p.Run(ctx, &engine.Runtime{}, value.ObjectOf("id", int64(7)), engine.RunOptions{}); err != nil {
				t.Fatal(err)
			}
			_, h, _, _, _ := r.Get()
			return h
		}
		first := run()
		want := first.Clone()
		for k := range first {
			first.Add(k, "later")
		}
		first.Set("Content-Type", "x/y")
		if second := run(); !reflect.DeepEqual(second, want) {
			t.Fatalf("%s: second response's header %v, want %v", step, second, want)
		}
	}
}

// TestRespondStatus runs respond steps whose status is written out (read
// at load), left to its default, or an expression (read per execution):
// the status set is the same either way, and a bad one is refused (at load
// when written out, at run otherwise).
func TestRespondStatus(t *testing.T) {
	tests := []struct {
		name, step string
		want       int
		loadErr    bool
		runErr     bool
	}{
		{"written out", "respond: {status: 201}", 201, false, false},
		{"quoted", "respond: {status: '202'}", 202, false, false},
		{"default", "respond: {}", 200, false, false},
		{"expression", "respond: {status: '{{ message.id + 194 }}'}", 201, false, false},
		{"expression text", "respond: {status: '{{ \"203\" }}'}", 203, false, false},
		{"out of range", "respond: {status: 600}", 0, true, false},
		{"not a number", "respond: {status: abc}", 0, true, false},
		{"expression out of range", "respond: {status: '{{ message.id * 100 }}'}", 0, false, true},
		{"expression with a fraction", "respond: {status: '{{ 200.5 }}'}", 0, false, true},
		{"expression text with a fraction", "respond: {status: '{{ \"200.5\" }}'}", 0, false, true},
		{"expression text with trailing text", "respond: {status: '{{ \"404abc\" }}'}", 0, false, true},
		{"expression of a whole float", "respond: {status: '{{ 201.0 }}'}", 201, false, false},
		{"written out with a fraction", "respond: {status: 200.5}", 0, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := engine.Load("t.yaml", []byte("name: t\nsteps:\n  - "+tc.step+"\n"), engine.LoadOptions{})
			if tc.loadErr {
				if err == nil {
					t.Fatal("loaded")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for range 2 { // the status read at load serves every execution
				r := triggers.NewResponse(nil)
				ctx := triggers.WithResponse(context.Background(), r)
				_, err = p.Run(ctx, &engine.Runtime{}, value.ObjectOf("id", int64(7)), engine.RunOptions{})
				if tc.runErr {
					if err == nil {
						t.Fatal("ran")
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if status, _, _, set, _ := r.Get(); !set || status != tc.want {
					t.Fatalf("status %d (set %v), want %d", status, set, tc.want)
				}
			}
		})
	}
}
