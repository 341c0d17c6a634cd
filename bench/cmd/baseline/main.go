// Command baseline serves the hand-written handler of package baseline on
// POST /bench, for the load script.
package main

import (
	"flag"
	"log"
	"net/http"

	"github.com/nectar-run/nectar/bench/baseline"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8091", "address to listen on")
	flag.Parse()
	mux := http.NewServeMux()
	mux.Handle("/bench", baseline.Handler())
	log.Fatal(http.ListenAndServe(*addr, mux))
}
