package secret

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// EnvKey is the environment variable that holds the master key, base64
// encoded. When set, it wins over the key file.
const EnvKey = "NECTAR_MASTER_KEY"

// KeyFile is the name of the key file in the data directory.
const KeyFile = "master.key"

// GenerateKey returns a new random master key.
func GenerateKey() []byte {
	k := make([]byte, KeySize)
	_, _ = rand.Read(k) // never fails since Go 1.24
	return k
}

// EncodeKey returns key in the form NECTAR_MASTER_KEY and the key file
// take: standard base64 with padding.
func EncodeKey(key []byte) string { return base64.StdEncoding.EncodeToString(key) }

// ParseKey decodes a base64 master key: standard or URL alphabet, with or
// without padding, surrounding spaces ignored. Its errors wrap ErrBadKey and
// say what is wrong without quoting the key.
func ParseKey(text string) ([]byte, error) {
	s := strings.TrimSpace(text)
	if s == "" {
		return nil, fmt.Errorf("%w: it is empty; %s", ErrBadKey, howToGenerate)
	}
	s = strings.TrimRight(s, "=")
	enc := base64.RawStdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.RawURLEncoding
	}
	key, err := enc.DecodeString(s)
	if err != nil {
		var bad base64.CorruptInputError
		if errors.As(err, &bad) {
			return nil, fmt.Errorf("%w: it is not base64 (bad character at position %d); %s", ErrBadKey, int64(bad)+1, howToGenerate)
		}
		return nil, fmt.Errorf("%w: it is not base64; %s", ErrBadKey, howToGenerate)
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("%w: it decodes to %d bytes; want %d; %s", ErrBadKey, len(key), KeySize, howToGenerate)
	}
	return key, nil
}

const howToGenerate = "generate one with: head -c 32 /dev/urandom | base64"

// LoadKey returns the master key and where it came from (for a log line):
// NECTAR_MASTER_KEY when set, else dataDir/master.key, which it generates
// (mode 0600, dataDir 0700) when missing. Two processes starting at once
// agree on one generated key. A key file readable or writable by other users
// is refused with ErrKeyFileMode.
func LoadKey(dataDir string) (key []byte, source string, err error) {
	key, source, err = FindKey(dataDir)
	if _, env := os.LookupEnv(EnvKey); env || !errors.Is(err, fs.ErrNotExist) {
		return key, source, err
	}
	path := filepath.Join(dataDir, KeyFile)
	if err := createKeyFile(dataDir, GenerateKey()); err != nil {
		return nil, "", err
	}
	key, err = readKeyFile(path) // another process may have won the race
	if err != nil {
		return nil, "", err
	}
	return key, "key file " + path, nil
}

// FindKey is LoadKey without generating: when NECTAR_MASTER_KEY is unset
// and dataDir/master.key does not exist, it returns an error wrapping
// fs.ErrNotExist. Use it where generating a key would be wrong, such as a
// store that already holds sealed values.
func FindKey(dataDir string) (key []byte, source string, err error) {
	if v, ok := os.LookupEnv(EnvKey); ok {
		key, err := ParseKey(v)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", EnvKey, err)
		}
		return key, "environment variable " + EnvKey, nil
	}
	path := filepath.Join(dataDir, KeyFile)
	key, err = readKeyFile(path)
	if err != nil {
		return nil, "", err
	}
	return key, "key file " + path, nil
}

// Load returns a Sealer for the master key LoadKey finds, and the key's
// source.
func Load(dataDir string) (*Sealer, string, error) {
	key, source, err := LoadKey(dataDir)
	if err != nil {
		return nil, "", err
	}
	s, err := NewSealer(key)
	if err != nil {
		return nil, "", err
	}
	return s, source, nil
}

func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("secret: master key: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("secret: master key: %w", err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %04o; run: chmod 600 %s", ErrKeyFileMode, path, fi.Mode().Perm(), path)
	}
	b := make([]byte, 256)
	n, err := f.Read(b)
	if err != nil && n == 0 {
		return nil, fmt.Errorf("secret: master key %s: %w", path, err)
	}
	key, err := ParseKey(string(b[:n]))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return key, nil
}

// createKeyFile writes key to dataDir/master.key unless the file exists.
// The key is written to a temporary file first and linked into place, so no
// process ever reads a half-written key.
func createKeyFile(dataDir string, key []byte) error {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("secret: data directory: %w", err)
	}
	tmp, err := writeTemp(dataDir, key)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, filepath.Join(dataDir, KeyFile)); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("secret: master key: %w", err)
	}
	return nil
}

// SaveKey writes key to dataDir/master.key with mode 0600, replacing the
// file atomically: the last step of a key rotation, after every blob was
// resealed.
func SaveKey(dataDir string, key []byte) error {
	if len(key) != KeySize {
		return fmt.Errorf("%w: it is %d bytes; want %d", ErrBadKey, len(key), KeySize)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("secret: data directory: %w", err)
	}
	tmp, err := writeTemp(dataDir, key)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dataDir, KeyFile)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("secret: master key: %w", err)
	}
	return nil
}

func writeTemp(dir string, key []byte) (string, error) {
	f, err := os.CreateTemp(dir, ".master.key-*")
	if err != nil {
		return "", fmt.Errorf("secret: master key: %w", err)
	}
	name := f.Name()
	// CreateTemp makes the file 0600 already; Chmod guards against odd umasks.
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.WriteString(EncodeKey(key) + "\n")
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return "", fmt.Errorf("secret: master key: %w", err)
	}
	return name, nil
}
