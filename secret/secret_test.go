package secret_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/nectar-run/nectar/secret"
)

const value = "s3cr3t-VALUE"

type config struct {
	User     string        `json:"user" yaml:"user"`
	Password secret.Secret `json:"password" yaml:"password"`
}

func TestSecretNeverPrints(t *testing.T) {
	s := secret.New(value)
	cfg := config{User: "bob", Password: s}
	ptr := &cfg
	outputs := map[string]func() string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s", "%T"} {
		outputs["fmt "+verb] = func() string { return fmt.Sprintf(verb, s) }
		outputs["fmt struct "+verb] = func() string { return fmt.Sprintf(verb, cfg) }
		outputs["fmt pointer "+verb] = func() string { return fmt.Sprintf(verb, ptr) }
	}
	outputs["fmt Sprint"] = func() string { return fmt.Sprint(s, cfg) }
	outputs["fmt Println"] = func() string { return fmt.Sprintln(s, cfg) }
	outputs["error wrapping"] = func() string { return fmt.Errorf("login %v: %w", s, errors.New("denied")).Error() }
	outputs["json"] = func() string { b, _ := json.Marshal(cfg); return string(b) }
	outputs["json map"] = func() string { b, _ := json.Marshal(map[string]any{"p": s, "q": ptr}); return string(b) }
	outputs["yaml"] = func() string { b, _ := yaml.Marshal(cfg); return string(b) }
	for _, h := range []string{"json", "text"} {
		outputs["slog "+h] = func() string {
			var buf bytes.Buffer
			var handler slog.Handler = slog.NewJSONHandler(&buf, nil)
			if h == "text" {
				handler = slog.NewTextHandler(&buf, nil)
			}
			log := slog.New(handler)
			log.Info("msg", "secret", s, "cfg", cfg, "ptr", ptr)
			log.Info("group", slog.Group("g", slog.Any("s", s)))
			return buf.String()
		}
	}
	for name, out := range outputs {
		t.Run(name, func(t *testing.T) {
			got := out()
			if strings.Contains(got, value) || strings.Contains(got, fmt.Sprintf("%x", value)) {
				t.Fatalf("output shows the secret: %s", got)
			}
			if !strings.Contains(got, "***") && !strings.HasPrefix(name, "fmt pointer") && !strings.HasSuffix(name, "%T") {
				t.Fatalf("output does not show the mask: %s", got)
			}
		})
	}
	if s.Reveal() != value {
		t.Fatalf("Reveal() = %q", s.Reveal())
	}
}

func TestSecretUnmarshal(t *testing.T) {
	tests := []struct {
		name, json, yaml, want, wantErr string
	}{
		{name: "string", json: `{"password":"` + value + `"}`, yaml: "password: " + value, want: value},
		{name: "quoted yaml", json: `{"password":"a b"}`, yaml: `password: "a b"`, want: "a b"},
		{name: "null is empty", json: `{"password":null}`, yaml: "password: null", want: ""},
		{name: "number is refused", json: `{"password":12345678}`, yaml: "password: [12345678]", wantErr: "secret: "},
		{name: "object is refused", json: `{"password":{"v":"12345678"}}`, yaml: "password: {v: 12345678}", wantErr: "secret: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fromJSON, fromYAML config
			errJSON := json.Unmarshal([]byte(tt.json), &fromJSON)
			errYAML := yaml.Unmarshal([]byte(tt.yaml), &fromYAML)
			for kind, err := range map[string]error{"json": errJSON, "yaml": errYAML} {
				if tt.wantErr == "" && err != nil {
					t.Fatalf("%s: %v", kind, err)
				}
				if tt.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
						t.Fatalf("%s: error %v; want %q", kind, err, tt.wantErr)
					}
					if strings.Contains(err.Error(), "12345678") {
						t.Fatalf("%s: error quotes the input: %v", kind, err)
					}
				}
			}
			if tt.wantErr != "" {
				return
			}
			if fromJSON.Password.Reveal() != tt.want || fromYAML.Password.Reveal() != tt.want {
				t.Fatalf("json %q, yaml %q; want %q", fromJSON.Password.Reveal(), fromYAML.Password.Reveal(), tt.want)
			}
		})
	}
}

func TestSecretEqual(t *testing.T) {
	s := secret.New(value)
	if !s.Equal(value) || s.Equal(value+"x") || s.Equal("") || s.IsZero() || !(secret.Secret{}).IsZero() {
		t.Fatal("Equal or IsZero is wrong")
	}
}
