package accounts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/nectar-run/nectar/secret"
	"github.com/nectar-run/nectar/store"
)

// File is the shape of an accounts file for `nectar accounts import`:
//
//	providers:
//	  - name: acme
//	    auth_url: https://login.acme.example/authorize
//	    token_url: https://login.acme.example/token
//	accounts:
//	  - name: crm
//	    type: oauth2-client-credentials
//	    token_url: https://crm.example/oauth/token
//	    client_id: nectar
//	    client_secret: ${file:crm-secret.txt}
//	    scopes: [contacts.read]
//
// A provider sends a PKCE challenge unless it says pkce: false.
//
// Values may hold ${env:NAME} (an environment variable, which must be set)
// and ${file:PATH} (a file's content without its final newline; relative
// to the accounts file), so the file itself holds no secret.
type File struct {
	Providers []*Provider `yaml:"providers"`
	Accounts  []*Account  `yaml:"accounts"`
}

var refRE = regexp.MustCompile(`\$\{(env|file):([^}]*)\}`)

// ParseFile reads an accounts file, expanding ${env:…} and ${file:…}
// references (file paths relative to dir). Unknown fields are errors.
func ParseFile(data []byte, dir string) (*File, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := expandRefs(&root, dir); err != nil {
		return nil, err
	}
	noPKCEKey := providersWithoutPKCE(&root)
	expanded, err := yaml.Marshal(&root)
	if err != nil {
		return nil, err
	}
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(expanded))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		// yaml errors quote field names, never values we expanded.
		return nil, fmt.Errorf("%w: %s", ErrInvalid, scrub(err.Error()))
	}
	// PKCE is on unless the file says pkce: false, as with providers add.
	for _, i := range noPKCEKey {
		if i < len(f.Providers) && f.Providers[i] != nil {
			f.Providers[i].PKCE = true
		}
	}
	return &f, nil
}

// providersWithoutPKCE returns the indexes of the file's providers that do
// not mention pkce.
func providersWithoutPKCE(root *yaml.Node) []int {
	doc := root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		doc = doc.Content[0]
	}
	if doc.Kind != yaml.MappingNode {
		return nil
	}
	var out []int
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value != "providers" || doc.Content[i+1].Kind != yaml.SequenceNode {
			continue
		}
		for j, p := range doc.Content[i+1].Content {
			has := false
			for k := 0; p.Kind == yaml.MappingNode && k+1 < len(p.Content); k += 2 {
				has = has || p.Content[k].Value == "pkce"
			}
			if !has {
				out = append(out, j)
			}
		}
	}
	return out
}

// scrub keeps yaml's "line N: field x not found" messages but drops quoted
// values, which may be expanded secrets.
func scrub(msg string) string {
	if i := strings.Index(msg, "cannot unmarshal"); i >= 0 {
		return msg[:i] + "a value has the wrong type"
	}
	return msg
}

func expandRefs(n *yaml.Node, dir string) error {
	if n.Kind == yaml.ScalarNode {
		if !strings.Contains(n.Value, "${") {
			return nil
		}
		var err error
		n.Value = refRE.ReplaceAllStringFunc(n.Value, func(ref string) string {
			m := refRE.FindStringSubmatch(ref)
			switch m[1] {
			case "env":
				v, ok := os.LookupEnv(m[2])
				if !ok && err == nil {
					err = fmt.Errorf("%w: line %d: environment variable %s is not set", ErrInvalid, n.Line, m[2])
				}
				return v
			default:
				p := m[2]
				if !filepath.IsAbs(p) {
					p = filepath.Join(dir, p)
				}
				b, rerr := os.ReadFile(p)
				if rerr != nil && err == nil {
					err = fmt.Errorf("%w: line %d: %w", ErrInvalid, n.Line, rerr)
				}
				return strings.TrimRight(string(b), "\r\n")
			}
		})
		n.Style = yaml.DoubleQuotedStyle
		n.Tag = "!!str"
		return err
	}
	for _, c := range n.Content {
		if err := expandRefs(c, dir); err != nil {
			return err
		}
	}
	return nil
}

// Import stores the providers and accounts of f, replacing those of the
// same names, and returns the account names. Every definition is
// validated, then the providers are stored (an oauth2 account may name one
// of the same file), then every account is tested as Save tests it (unless
// opts says NoTest, or the account says test_on_save: false) before any
// account is written: one failure (a *TestError) writes no account. The
// tokens the tests obtained are kept.
func (m *Manager) Import(ctx context.Context, f *File, opts ...SaveOptions) ([]string, error) {
	var o SaveOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	for _, p := range f.Providers {
		if err := p.Validate(); err != nil {
			return nil, err
		}
	}
	for _, a := range f.Accounts {
		if err := validateAccount(a); err != nil {
			return nil, err
		}
	}
	for _, p := range f.Providers {
		if err := m.PutProvider(ctx, p); err != nil {
			return nil, err
		}
	}
	tokens := make([]*Token, len(f.Accounts))
	for i, a := range f.Accounts {
		_, tok, err := m.testBeforeSave(ctx, a, o)
		if err != nil {
			return nil, err
		}
		tokens[i] = tok
	}
	names := make([]string, 0, len(f.Accounts))
	for i, a := range f.Accounts {
		if err := m.Put(ctx, a); err != nil {
			return names, err
		}
		m.keepTestToken(ctx, a.Name, tokens[i])
		names = append(names, a.Name)
	}
	return names, nil
}

// RotateKey reseals every value of SealedBuckets from the old master key to
// next, and returns how many values it wrote. It is safe to run again after
// an interruption: values already sealed with next are left alone. Save the
// new key (secret.SaveKey) only after it succeeds.
func RotateKey(ctx context.Context, st store.Store, old, next *secret.Sealer) (int, error) {
	// Every value is resealed before anything is written: a value that
	// cannot be (an unsealed provider record) stops the rotation early.
	var all [][]store.Op
	for _, bucket := range SealedBuckets {
		items, err := st.List(ctx, bucket, store.ListOptions{})
		if err != nil {
			return 0, fmt.Errorf("accounts: rotate key: listing %s: %w", bucket, err)
		}
		ops := make([]store.Op, 0, len(items))
		for _, it := range items {
			blob, err := secret.Reseal(old, next, it.Value, aad(bucket, it.Key))
			if err != nil && bucket == providersBucket {
				// An unsealed provider record: say so, with the fix.
				if _, perr := (&Manager{sealer: old}).openProvider(it.Key, it.Value); perr != nil {
					err = perr
				}
			}
			if err != nil {
				return 0, fmt.Errorf("accounts: rotate key: %s/%s: %w", bucket, it.Key, err)
			}
			if bytes.Equal(blob, it.Value) {
				continue
			}
			ops = append(ops, store.Op{Bucket: bucket, Key: it.Key, Value: blob, ExpiresAt: it.ExpiresAt})
		}
		all = append(all, ops)
	}
	n := 0
	for i, ops := range all {
		if len(ops) == 0 {
			continue
		}
		if err := st.Apply(ctx, ops...); err != nil {
			return n, fmt.Errorf("accounts: rotate key: writing %s: %w", SealedBuckets[i], err)
		}
		n += len(ops)
	}
	return n, nil
}
