package rest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/nectar-run/nectar/accounts/accountstest"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// BenchmarkCachedToken compares a rest step using an OAuth account whose
// token is cached with a plain net/http client making the same call (bearer
// header, read the body, parse the JSON), against the same loopback API.
func BenchmarkCachedToken(b *testing.B) {
	fake := accountstest.New(b)
	rt, m, _ := runtime(b)
	fakeAccount(b, m, fake, "crm")
	p := load(b, `name: bench
steps:
  - rest:
      url: "`+fake.URL+`/api/contacts/{{ message.id }}"
      account: crm
`)
	in := value.ObjectOf("id", int64(7))
	ctx := context.Background()
	if _, err := p.Run(ctx, rt, in, engine.RunOptions{}); err != nil {
		b.Fatal(err)
	}
	token := fake.IssuedSecrets()[0]

	plain := func(client *http.Client) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fake.URL+"/api/contacts/7", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			b.Fatal(err, resp.StatusCode)
		}
		var v map[string]any
		if err := json.Unmarshal(body, &v); err != nil {
			b.Fatal(err)
		}
	}
	// paired alternates the two calls, so that load from other processes
	// on the machine weighs on both alike, and reports both and their
	// ratio.
	b.Run("paired", func(b *testing.B) {
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second}}
		var tn, tp time.Duration
		for b.Loop() {
			t0 := time.Now()
			if _, err := p.Run(ctx, rt, in, engine.RunOptions{}); err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			plain(client)
			tp += time.Since(t1)
			tn += t1.Sub(t0)
		}
		b.ReportMetric(float64(tn.Nanoseconds())/float64(b.N), "nectar-ns/op")
		b.ReportMetric(float64(tp.Nanoseconds())/float64(b.N), "nethttp-ns/op")
		b.ReportMetric(float64(tn)/float64(tp), "ratio")
	})
	b.Run("nectar", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			out, err := p.Run(ctx, rt, in, engine.RunOptions{})
			if err != nil {
				b.Fatal(err)
			}
			if ok, _ := out.(*value.Object).Get("status"); ok != int64(200) {
				b.Fatalf("status %v", ok)
			}
		}
	})
	b.Run("net_http", func(b *testing.B) {
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second}}
		b.ReportAllocs()
		for b.Loop() {
			plain(client)
		}
	})
	if n := fake.TokenRequests(); n != 1 {
		b.Fatalf("%d token requests; the token should stay cached", n)
	}
}
