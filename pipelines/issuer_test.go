package pipelines_test

import (
	"net"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/pipelines"
)

func TestSetIssuer(t *testing.T) {
	tcp := func(s string) net.Addr {
		a, err := net.ResolveTCPAddr("tcp", s)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	for _, tc := range []struct {
		name        string
		configured  any // nil: the globals set none
		listen      string
		want        string
		unspecified bool
		err         string
	}{
		{"loopback", nil, "127.0.0.1:8080", "http://127.0.0.1:8080", false, ""},
		{"IPv6 loopback", nil, "[::1]:8080", "http://[::1]:8080", false, ""},
		{"unspecified", nil, "0.0.0.0:9000", "http://localhost:9000", true, ""},
		{"unspecified IPv6", nil, "[::]:9000", "http://localhost:9000", true, ""},
		{"configured", "https://auth.example.com", "0.0.0.0:9000", "https://auth.example.com", false, ""},
		{"trailing slash", "https://auth.example.com/", "127.0.0.1:1", "https://auth.example.com", false, ""},
		{"with a path", "https://example.com/auth/", "127.0.0.1:1", "https://example.com/auth", false, ""},
		{"two trailing slashes", "https://auth.example.com//", "127.0.0.1:1", "https://auth.example.com", false, ""},
		{"upper-case scheme", "HTTPS://auth.example.com", "127.0.0.1:1", "https://auth.example.com", false, ""},
		{"no host", "https:///x", "127.0.0.1:1", "", false, "not an absolute http or https URL"},
		{"not a URL", "nectar", "127.0.0.1:1", "", false, `oauth_issuer: "nectar" is not an absolute http or https URL`},
		{"another scheme", "ftp://auth.example.com", "127.0.0.1:1", "", false, "not an absolute http or https URL"},
		{"a query", "https://auth.example.com?x=1", "127.0.0.1:1", "", false, "must not have a query"},
		{"a fragment", "https://auth.example.com#x", "127.0.0.1:1", "", false, "must not have a query, a fragment"},
		{"user info", "https://u:p@auth.example.com", "127.0.0.1:1", "", false, "user info"},
		{"a number", int64(3), "127.0.0.1:1", "", false, "expected a URL string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := value.NewObject(1)
			if tc.configured != nil {
				g.Set(pipelines.IssuerGlobal, tc.configured)
			}
			out, iss, unspecified, err := pipelines.SetIssuer(g, tcp(tc.listen))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := out.Get(pipelines.IssuerGlobal); iss != tc.want || got != tc.want || unspecified != tc.unspecified {
				t.Errorf("issuer %q, global %v, unspecified %v; want %q, %v", iss, got, unspecified, tc.want, tc.unspecified)
			}
		})
	}
	if out, iss, _, err := pipelines.SetIssuer(nil, tcp("127.0.0.1:80")); err != nil || iss != "http://127.0.0.1:80" || out == nil {
		t.Errorf("nil globals: %v %q %v", out, iss, err)
	}
}
