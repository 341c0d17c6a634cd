package main

import (
	"log/slog"
	"net"
	"net/http"

	"github.com/nectar-run/nectar/console"
	"github.com/nectar-run/nectar/server"
	"github.com/nectar-run/nectar/store/open"
)

// serveConsole puts the console (package console) in front of hs's handler
// at path: on when asked, and by default when the server listens on a
// loopback address only. It returns the console, or nil when off.
func serveConsole(on *bool, path string, listen net.Addr, srv *server.Server, hs *http.Server, g *globals, log *slog.Logger) *console.Console {
	enabled := isLoopback(listen)
	if on != nil {
		enabled = *on
	}
	if !enabled {
		return nil
	}
	kind, _, _ := open.Choose(g.storeDSN)
	c := console.New(console.Options{
		Path:    path,
		Backend: srv.ConsoleBackend(server.ConsoleOptions{Version: versionLine(), StoreKind: string(kind)}),
		Logger:  log,
	})
	hs.Handler = console.Route(c, hs.Handler)
	hs.RegisterOnShutdown(c.Close) // live streams end, so the drain does not wait for them
	log.Info("console", "url", "http://"+listen.String()+c.Path())
	return c
}

func isLoopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}
