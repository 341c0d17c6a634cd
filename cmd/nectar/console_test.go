package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/nectar-run/nectar/server"
)

// TestServeConsoleFlags checks where nectar serve puts the console: on by
// default on a loopback address, off by default on any other, and
// --console / --console-path override both.
func TestServeConsoleFlags(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := server.New(context.Background(), server.Options{AdminKey: "k", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	yes, no := true, false
	loopback := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}
	public := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 10), Port: 8080} // TEST-NET-1: never dialled
	for _, c := range []struct {
		name   string
		flag   *bool
		path   string
		listen net.Addr
		want   string // a path that must show the sign-in page; "" for off
	}{
		{"loopback default", nil, "/console", loopback, "/console/login"},
		{"other address default", nil, "/console", public, ""},
		{"other address --console", &yes, "/console", public, "/console/login"},
		{"loopback --console=false", &no, "/console", loopback, ""},
		{"--console-path", nil, "/ops/ui/", loopback, "/ops/ui/login"},
	} {
		t.Run(c.name, func(t *testing.T) {
			hs := &http.Server{Handler: http.NotFoundHandler()}
			got := serveConsole(c.flag, c.path, c.listen, srv, hs, &globals{}, log)
			if (got != nil) != (c.want != "") {
				t.Fatalf("console on: %v, want %v", got != nil, c.want != "")
			}
			for _, p := range []string{"/console/login", "/ops/ui/login"} {
				rec := httptest.NewRecorder()
				hs.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
				if want := p == c.want; (rec.Code == http.StatusOK) != want {
					t.Errorf("GET %s: %d", p, rec.Code)
				}
			}
		})
	}
}
