// Command baseline serves the hand-written token endpoint of bench/oauth at
// POST /oauth/token, with one client seeded in its own bbolt store, for
// bench/oauth/run.sh to compare with nectar serve.
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/nectar-run/nectar/bench/oauth"
	"github.com/nectar-run/nectar/store/bolt"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8093", "address to listen on")
	dir := flag.String("data-dir", "", "folder of the bbolt store (default: a temporary one)")
	id := flag.String("client-id", "bench-client", "the seeded client's id")
	secret := flag.String("client-secret", "bench-secret-0123456789abcdefghijklmnopqrstuv", "the seeded client's secret")
	flag.Parse()
	if *dir == "" {
		d, err := os.MkdirTemp("", "oauth-baseline")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	st, err := bolt.Open(*dir)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	if err := oauth.SeedClient(context.Background(), st, *id, *secret, "profile"); err != nil {
		log.Fatal(err)
	}
	key := func() []byte { b := make([]byte, 64); _, _ = rand.Read(b); return b }
	srv := &oauth.Server{Store: st, AccessKey: key(), RefreshKey: key(), Issuer: "nectar", Lifetime: time.Hour, RefreshFor: 30 * 24 * time.Hour}
	mux := http.NewServeMux()
	mux.Handle("/oauth/token", srv)
	hs := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(hs.ListenAndServe())
}
