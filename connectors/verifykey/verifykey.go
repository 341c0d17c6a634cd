// Package verifykey implements the verify-key connector: it checks a key the
// caller presented (an API key in a request) against one held by an
// environment variable or an account, comparing SHA-256 digests in constant
// time, so neither the expected key nor where the two differ shows in the
// message, the error or the time taken. The message passes through unchanged;
// a missing or wrong key fails with 401 (or status).
package verifykey

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"os"
	"regexp"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/connectors/jwt"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// Config holds the options of a verify-key step. The expected key never
// enters the message: the step only says yes (the message passes through) or
// no (an error with status).
type Config struct {
	Key     engine.Template `yaml:"key" required:"true" doc:"the key the caller presented, like {{ message.apikey }}"`
	Env     string          `yaml:"env" doc:"an environment variable holding the expected key, used when it is set; only NECTAR_…_APIKEY names, so a pipeline cannot test guesses against other secrets of the process"`
	Account string          `yaml:"account" doc:"the account holding the expected key (its token, api_key, password or header_value, the first that is set; a PEM key, a JWKS or a URL there is public and refused), used when env is not set"`
	Status  int             `yaml:"status" default:"401" doc:"the error's code when the key is missing or wrong"`
	Error   engine.Template `yaml:"error" doc:"the error message (default: invalid key)"`
}

// envKeyName is what env may name.
var envKeyName = regexp.MustCompile(`^NECTAR_[A-Z0-9_]*APIKEY$`)

type step struct {
	cfg Config
}

var _ engine.Step = (*step)(nil)

func init() {
	engine.Register("verify-key", "Checks a key the caller presented against one held by an environment variable or an account, in constant time; the message passes through.", compile)
}

func compile(cfg Config, cc *engine.Compiler) (engine.Step, error) {
	var errs []error
	if cfg.Env == "" && cfg.Account == "" {
		errs = append(errs, cc.Errorf("", "expected env, account or both: where the expected key lives"))
	}
	if cfg.Env != "" && !envKeyName.MatchString(cfg.Env) {
		errs = append(errs, cc.Errorf("env", "expected a variable named NECTAR_…APIKEY, got %q", cfg.Env))
	}
	if cfg.Status < 400 || cfg.Status > 599 {
		errs = append(errs, cc.Errorf("status", "expected an error status between 400 and 599, got %d", cfg.Status))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &step{cfg: cfg}, nil
}

// Execute compares the SHA-256 digests of the presented and the expected
// key with subtle.ConstantTimeCompare, so neither where they differ nor the
// expected key's length shows in the time taken. It returns in unchanged.
func (s *step) Execute(ctx context.Context, x *engine.Exec, in any) (any, error) {
	v, err := s.cfg.Key.Eval(x, in)
	if err != nil {
		return nil, err
	}
	presented, _ := v.(string)
	want, err := s.expected(ctx, x)
	if err != nil {
		return nil, err
	}
	a, b := sha256.Sum256([]byte(presented)), sha256.Sum256([]byte(want))
	if presented == "" || subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		msg := "invalid key"
		if s.cfg.Error.IsSet() {
			if msg, err = s.cfg.Error.String(x, in); err != nil {
				return nil, err
			}
		}
		return nil, engine.NewError(s.cfg.Status, "%s", msg)
	}
	return in, nil
}

// expected returns the key to compare with: the environment variable when
// it is set, else the account's.
func (s *step) expected(ctx context.Context, x *engine.Exec) (string, error) {
	if s.cfg.Env != "" {
		if k := os.Getenv(s.cfg.Env); k != "" {
			x.Runtime.Secrets.Add(k) // masked wherever it appears in logs and records
			return k, nil
		}
	}
	if s.cfg.Account != "" {
		if am, ok := accounts.FromRuntime(x.Runtime); ok {
			a, err := am.Get(ctx, s.cfg.Account)
			switch {
			case errors.Is(err, accounts.ErrUnknownAccount):
			case err != nil:
				return "", engine.NewError(500, "verify-key: reading account %s: %w", value.MustEncodeString(s.cfg.Account), err)
			default:
				// One reading of an account's key for verify-key, the jwt
				// steps and the jwt auth of triggers.
				m, err := jwt.AccountMaterial(a)
				if err != nil {
					break // no key: the 503 below says where to put one
				}
				if m.Secret.IsZero() {
					// A PEM key, a JWKS or a JWKS URL: public, so anyone
					// could present it.
					return "", engine.NewError(500, "verify-key: account %s holds a public key (PEM, JWKS or JWKS URL), which anyone may know; it needs a secret key", value.MustEncodeString(s.cfg.Account))
				}
				return m.Secret.Reveal(), nil
			}
		}
	}
	return "", engine.NewError(503, "verify-key: no key is configured: %s", s.where())
}

func (s *step) where() string {
	switch {
	case s.cfg.Env != "" && s.cfg.Account != "":
		return "set " + s.cfg.Env + " or create the account " + s.cfg.Account
	case s.cfg.Env != "":
		return "set " + s.cfg.Env
	}
	return "create the account " + s.cfg.Account
}
