package httpclient_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/connectors/httpclient"
	"github.com/nectar-run/nectar/internal/nettest"
)

// TestTransportStatus sends real requests on loopback that fail in each way
// a transport can fail, and checks the status every API connector gives.
func TestTransportStatus(t *testing.T) {
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(release) })
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(tlsSrv.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := ln.Addr().String()
	ln.Close()
	silent := nettest.Silent(t) // never answers a TLS hello

	get := func(c *http.Client, ctx context.Context, u string) error {
		req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("GET %s got an answer, want an error", u)
		}
		return err
	}
	expired, cancelExpired := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancelExpired()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	bg := context.Background()
	plain := &http.Client{}
	readTimeout := &http.Client{Transport: &http.Transport{ResponseHeaderTimeout: 10 * time.Millisecond}}
	handshakeTimeout := &http.Client{Transport: &http.Transport{TLSHandshakeTimeout: 10 * time.Millisecond}}
	hostErr := &url.Error{Op: "Get", URL: "https://elsewhere.example/x", Err: &accounts.HostError{Account: "crm", Host: "elsewhere.example", Allowed: []string{"api.crm.example"}}}

	tests := []struct {
		name string
		ctx  context.Context
		err  func() error
		want int
	}{
		{"context deadline", expired, func() error { return get(plain, expired, hang.URL) }, 504},
		{"run cancelled", cancelled, func() error { return get(plain, cancelled, hang.URL) }, 504},
		{"read timeout (net.Error timeout)", bg, func() error { return get(readTimeout, bg, hang.URL) }, 504},
		{"TLS handshake timeout (net.Error timeout, no context deadline)", bg, func() error { return get(handshakeTimeout, bg, "https://"+silent+"/") }, 504},
		{"connection refused", bg, func() error { return get(plain, bg, "http://"+closedAddr+"/") }, 502},
		{"DNS: unknown host", bg, func() error {
			return &url.Error{Op: "Get", URL: "http://nosuch.invalid/", Err: &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "nosuch.invalid", IsNotFound: true}}}
		}, 502},
		{"DNS: lookup timed out", bg, func() error {
			return &url.Error{Op: "Get", URL: "http://slow.invalid/", Err: &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "i/o timeout", Name: "slow.invalid", IsTimeout: true}}}
		}, 504},
		{"TLS: unknown certificate authority", bg, func() error { return get(plain, bg, tlsSrv.URL) }, 502},
		{"account host refusal", bg, func() error { return hostErr }, 403},
		{"account needs authorizing again", bg, func() error { return fmt.Errorf("crm: %w", accounts.ErrNeedsReauthorization) }, 401},
		{"provider refused a token", bg, func() error { return fmt.Errorf("%w: invalid_grant", accounts.ErrTokenRequest) }, 502},
		{"unknown account", bg, func() error { return fmt.Errorf("%w: crm", accounts.ErrUnknownAccount) }, 500},
		{"no account manager", bg, func() error { return accounts.ErrNoManager }, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.err()
			if got := httpclient.TransportStatus(tt.ctx, err); got != tt.want {
				t.Fatalf("TransportStatus(%v) = %d, want %d", err, got, tt.want)
			}
		})
	}
}

func TestAccountStatus(t *testing.T) {
	if code, ok := httpclient.AccountStatus(errors.New("connection reset")); ok {
		t.Fatalf("a transport error is an account error (%d)", code)
	}
	if code, ok := httpclient.AccountStatus(&accounts.HostError{Account: "crm", Host: "x"}); !ok || code != 403 {
		t.Fatalf("host refusal gave %d, %v; want 403, true", code, ok)
	}
}
