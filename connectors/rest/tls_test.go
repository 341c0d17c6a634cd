package rest_test

import (
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine"
)

func TestCustomCA(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"tls":true}`)
	}))
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600)

	tests := []struct{ name, options, wantErr string }{
		{"unknown authority fails", "retries: 0", "502: rest: GET " + srv.URL + ": tls: failed to verify certificate"},
		{"ca_file trusts it", "ca_file: " + ca, ""},
		{"insecure_skip_verify accepts it", "insecure_skip_verify: true", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := load(t, "name: t\nsteps:\n  - rest:\n      url: "+srv.URL+"\n      "+tt.options+"\n")
			out, err := run(t, p, nil, `{}`)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v; want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || get(out, "body", "tls") != true {
				t.Fatalf("%v", err)
			}
		})
	}
	if _, err := engine.Load("bad.yaml", []byte("name: t\nsteps:\n  - rest: {url: https://x, ca_file: missing.pem}\n"), engine.LoadOptions{}); err == nil || !strings.Contains(err.Error(), "bad.yaml:3:") {
		t.Fatalf("missing ca_file: %v", err)
	}
}

func TestReadTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	p := load(t, "name: t\nsteps:\n  - rest: {url: \""+srv.URL+"\", read_timeout: 20ms, retries: 0}\n")
	_, err := run(t, p, nil, `{}`)
	if e := engine.AsError(err); e == nil || e.Code != 504 || !strings.Contains(e.Message, "timeout awaiting response headers") {
		t.Fatalf("error %v", err)
	}
}
