package app

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/nectar-run/nectar/internal/accountsapi"
	"github.com/nectar-run/nectar/internal/httpjson"
	"github.com/nectar-run/nectar/server"
)

// The files nectar serve keeps in the data directory for the other nectar
// commands (the rule they follow is in cmd/nectar/remote.go).
const (
	// AdminKeyFile holds the generated admin key.
	AdminKeyFile = "admin.key"
	// ServeFile tells other nectar commands where the running server
	// listens (ServeInfo).
	ServeFile = "serve.json"
)

// ServeInfo is the content of ServeFile.
type ServeInfo struct {
	Addr string `json:"addr"`
	PID  int    `json:"pid"`
}

// LoadAdminKey returns NECTAR_ADMIN_KEY, or the key in AdminKeyFile of
// dataDir, created with mode 0600 on first use.
func LoadAdminKey(dataDir string) (string, error) {
	if k := os.Getenv("NECTAR_ADMIN_KEY"); k != "" {
		return k, nil
	}
	path := filepath.Join(dataDir, AdminKeyFile)
	b, err := os.ReadFile(path)
	if err == nil {
		if k := strings.TrimSpace(string(b)); k != "" {
			return k, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("reading the admin key: %w", err)
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	k := "nka_" + base64.RawURLEncoding.EncodeToString(raw)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(k+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("writing the admin key: %w", err)
	}
	return k, nil
}

// ReadAdminKey returns NECTAR_ADMIN_KEY, or the key in AdminKeyFile of
// dataDir; unlike LoadAdminKey it never creates one ("" when there is none).
func ReadAdminKey(dataDir string) string {
	if k := os.Getenv("NECTAR_ADMIN_KEY"); k != "" {
		return k
	}
	b, err := os.ReadFile(filepath.Join(dataDir, AdminKeyFile))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// WriteServeInfo writes ServeFile in dataDir: this process listens at
// addr. remove deletes it (at shutdown); it is safe to call after an error.
func WriteServeInfo(dataDir string, addr net.Addr) (remove func(), err error) {
	info, _ := json.Marshal(ServeInfo{Addr: addr.String(), PID: os.Getpid()})
	path := filepath.Join(dataDir, ServeFile)
	remove = func() { os.Remove(path) }
	return remove, os.WriteFile(path, info, 0o600)
}

// ReadServeInfo reads ServeFile in dataDir; ok is false when there is none
// or it names no address.
func ReadServeInfo(dataDir string) (info ServeInfo, ok bool) {
	b, err := os.ReadFile(filepath.Join(dataDir, ServeFile))
	if err != nil || json.Unmarshal(b, &info) != nil || info.Addr == "" {
		return ServeInfo{}, false
	}
	return info, true
}

// Mounts are the parts of the management API the App serves besides the
// server's own: the accounts and providers endpoints (package accountsapi)
// and GET /api/serve, which answers the server's process id so that a
// command can tell that the server at ServeFile's address is the one that
// wrote it (and not another one listening there since).
func (a *App) Mounts() []server.Mount {
	serve := server.Mount{Pattern: "GET /api/serve", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpjson.Value(w, http.StatusOK, map[string]int{"pid": os.Getpid()})
	})}
	return append(accountsapi.Mounts(a.Accounts, a.Logger), serve)
}
