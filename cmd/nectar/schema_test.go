package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/nectar-run/nectar/engine"
)

// The schema `nectar schema` prints is checked with an independent Draft
// 2020-12 validator (santhosh-tekuri/jsonschema), as an editor would use it:
// every pipeline Nectar ships or shows must validate, and the mistakes the
// schema is there to catch must not.

// cliSchemas compiles the output of `nectar schema` twice: under the draft
// it declares (2020-12), and under Draft 7 with its $schema removed, as
// yaml-language-server and JetBrains IDEs set to "JSON Schema version 7"
// read it. The schema uses only keywords that mean the same in both.
func cliSchemas(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	out, errOut, code := nectar(t, "", "schema")
	if code != 0 {
		t.Fatalf("nectar schema: exit %d: %s", code, errOut)
	}
	schemas := map[string]*jsonschema.Schema{}
	for name, draft := range map[string]*jsonschema.Draft{"draft 2020-12": jsonschema.Draft2020, "draft 7": jsonschema.Draft7} {
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
		if err != nil {
			t.Fatalf("nectar schema printed invalid JSON: %v", err)
		}
		if draft != jsonschema.Draft2020 {
			delete(doc.(map[string]any), "$schema")
		}
		c := jsonschema.NewCompiler()
		c.DefaultDraft(draft)
		c.AssertFormat()
		const url = "https://nectar.invalid/pipeline.schema.json"
		if err := c.AddResource(url, doc); err != nil {
			t.Fatal(err)
		}
		sch, err := c.Compile(url)
		if err != nil {
			t.Fatalf("the schema does not compile under %s: %v", name, err)
		}
		schemas[name] = sch
	}
	return schemas
}

// yamlInstance reads YAML as a YAML 1.2 editor does (yaml.v3 into any) and
// hands it to the validator through JSON.
func yamlInstance(data []byte) (any, error) {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	v, err := jsonable(v)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(b))
}

// jsonable turns the maps yaml.v3 makes into map[string]any: a mapping with
// a non-string key (`1: x`, `true: y`) becomes map[any]any, which JSON cannot
// hold, and its keys are strings in JSON anyway.
func jsonable(v any) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			j, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			v[k] = j
		}
		return v, nil
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			j, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			m[fmt.Sprint(k)] = j
		}
		return m, nil
	case []any:
		for i, e := range v {
			j, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			v[i] = j
		}
		return v, nil
	}
	return v, nil
}

// pipelineFiles lists the YAML files of pipelines/, examples/, the
// connectors' examples and golden cases, and this command's testdata, but
// for globals files (globals.yaml, NAME.globals.yaml).
func pipelineFiles(t *testing.T) []string {
	t.Helper()
	root := filepath.Join("..", "..")
	var files []string
	for _, dir := range []string{"pipelines", "examples", "connectors", "bench", filepath.Join("cmd", "nectar", "testdata")} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			base := d.Name()
			if base == "globals.yaml" || strings.HasSuffix(base, ".globals.yaml") {
				return nil // an environment's --globals file, not a pipeline
			}
			if d.IsDir() && base == "tests" {
				return filepath.SkipDir // nectar test's files, not pipelines
			}
			if engine.IsTestFile(base) {
				return nil // NAME.test.yaml: nectar test's cases, not a pipeline
			}
			if ext := filepath.Ext(path); !d.IsDir() && (ext == ".yaml" || ext == ".yml") {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(files)
	return files
}

// TestSchemaAcceptsShippedPipelines validates every pipeline of pipelines/,
// examples/, bench/ (the load scripts'), the connectors' examples and
// golden cases and this command's testdata with the schema `nectar schema` prints: a file Nectar loads must
// not be marked wrong in an editor.
func TestSchemaAcceptsShippedPipelines(t *testing.T) {
	schemas := cliSchemas(t)
	validated := 0
	for _, file := range pipelineFiles(t) {
		rel, _ := filepath.Rel(filepath.Join("..", ".."), file)
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		p, err := engine.Load(file, data, engine.LoadOptions{})
		if err != nil {
			// A testdata folder also holds files that are not pipelines (a
			// globals file) and pipelines meant to fail; every other file
			// is a pipeline that loads.
			if !strings.Contains(filepath.ToSlash(rel), "/testdata/") {
				t.Errorf("%s: %v", rel, err)
			} else {
				t.Logf("%s: skipped, Nectar does not load it", rel)
			}
			continue
		}
		p.Close(t.Context())
		validated++
		inst, err := yamlInstance(data)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		for name, sch := range schemas {
			if err := sch.Validate(inst); err != nil {
				t.Errorf("%s: Nectar loads it, the schema (%s) rejects it:\n%#v", rel, name, err)
			}
		}
	}
	// 10 in pipelines/, 6 in examples/, 19 connector examples: a walk that
	// found fewer has lost files, not gained a pass.
	if validated < 35 {
		t.Errorf("validated %d files, want at least 35", validated)
	}
}

// TestSchemaAcceptsWhatNectarLoads covers the forms the shipped files may not
// all use: each pipeline loads, and must validate.
func TestSchemaAcceptsWhatNectarLoads(t *testing.T) {
	schemas := cliSchemas(t)
	tests := []struct {
		name string
		yaml string
	}{
		{"set given a template string", "name: p\nsteps:\n  - set: \"{{ message.items }}\"\n"},
		{"set given a list and a number", "name: p\nsteps:\n  - set: [1, \"{{ message }}\"]\n  - set: 42\n"},
		{"set given any keys", "name: p\nsteps:\n  - set: {anything: {nested: [true, null]}, name: \"{{ message.name }}\"}\n"},
		{"assert.that a string", "name: p\nsteps:\n  - assert: {that: message.n > 1}\n"},
		{"assert.that a list", "name: p\nsteps:\n  - assert: {that: [message.n > 1, \"{{ message.n < 9 }}\"], error: too big, status: 422}\n"},
		{"jwt.issuer a string and a list", "name: p\nsteps:\n  - jwt: {operation: verify, account: signer, algorithm: HS256, token: \"{{ message.token }}\", issuer: https://a.example}\n  - jwt: {operation: verify, account: signer, algorithm: HS256, token: \"{{ message.token }}\", issuer: [https://a.example, \"{{ globals.iss }}\"], audience: api}\n"},
		{"a template given a number", "name: p\nsteps:\n  - respond: {status: 201}\n  - throw: {status: \"{{ vars.code }}\", error: nope}\n"},
		{"a connector left empty", "name: p\nsteps:\n  - respond:\n"},
		{"every step option", "name: p\nsteps:\n  - set: {a: 1}\n    name: first\n    description: sets a\n    if: true\n    from: message.order\n    to: vars.a\n    on_error: continue\n    retry: {attempts: 2, backoff: 100, max_backoff: 2s, codes: 502}\n    timeout: 1m30s\n"},
		{"to inside the message", "name: p\nsteps:\n  - set: {a: 1}\n    to: message.order.total\n  - set: {b: 2}\n    to: message\n"},
		{"retry codes a list, a condition in braces", "name: p\nsteps:\n  - set: {a: 1}\n    if: \"{{ message.a > 1 }}\"\n    retry: {codes: [502, 503]}\n"},
		{"every top-level key", "name: orders.v2_b-1\ndescription: all keys\nglobals:\nsensitive_fields: card\ntimeout: 2500\nsteps:\n  - set: {a: 1}\n"},
		{"globals an object, sensitive_fields a list", "name: p\nglobals: {tenant: acme, limits: {n: 3}}\nsensitive_fields: [card, cvv]\nsteps:\n  - set: {a: 1}\n"},
		{"an event trigger as its name", "name: p\ntrigger:\n  event: orders.created\nsteps:\n  - set: {a: 1}\n"},
		{"an http trigger with one method and one auth", "name: p\ntrigger:\n  http: {path: /x, methods: GET, auth: apikey, timeout: 5s, rate_limit: {requests: 10}}\nsteps:\n  - set: {a: 1}\n"},
		{"a schedule trigger", "name: p\ntrigger:\n  schedule: {cron: \"0 */5 * * * *\", timezone: Europe/Paris, input: {a: [1]}}\nsteps:\n  - set: {a: 1}\n"},
		{"nested steps", "name: p\nsteps:\n  - choice:\n      - when: message.a > 1\n        steps: [{set: {big: true}}]\n      - otherwise: [{log: {message: small}}]\n"},
		{"a string option given a number", "name: p\nsteps:\n  - rest: {url: http://127.0.0.1/, method: GET, response_body: text}\n    name: 2024\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := engine.Load("p.yaml", []byte(tt.yaml), engine.LoadOptions{})
			if err != nil {
				t.Fatalf("Nectar does not load this pipeline; the case tests nothing: %v", err)
			}
			p.Close(t.Context())
			inst, err := yamlInstance([]byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			for name, sch := range schemas {
				if err := sch.Validate(inst); err != nil {
					t.Errorf("the schema (%s) rejects what Nectar loads:\n%s\n%#v", name, tt.yaml, err)
				}
			}
		})
	}
}

// TestSchemaRejectsMistakes checks that the schema still catches what an
// editor is there for: each pipeline is one that Nectar refuses too.
func TestSchemaRejectsMistakes(t *testing.T) {
	schemas := cliSchemas(t)
	tests := []struct {
		name string
		yaml string
	}{
		{"unknown connector", "name: p\nsteps:\n  - rset: {a: 1}\n"},
		{"misspelt option", "name: p\nsteps:\n  - rest:\n      url: http://127.0.0.1/\n      methd: GET\n"},
		{"retry attempts not a number", "name: p\nsteps:\n  - set: {a: 1}\n    retry: {attempts: three}\n"},
		{"a non-template boolean given a number", "name: p\nsteps:\n  - jq:\n      query: .\n      raw: 2\n"},
		{"a non-template boolean given a template", "name: p\nsteps:\n  - rest: {url: http://127.0.0.1/, gzip_body: \"{{ vars.gzip }}\"}\n"},
		{"a non-template integer given a template", "name: p\nsteps:\n  - set: {a: 1}\n    retry: {attempts: \"{{ vars.n }}\"}\n"},
		{"a duration that is not one", "name: p\nsteps:\n  - set: {a: 1}\n    timeout: 30 seconds\n"},
		{"a negative duration", "name: p\ntimeout: -5\nsteps:\n  - set: {a: 1}\n"},
		{"a list option given an object", "name: p\ntrigger:\n  http: {path: /x, methods: {GET: true}}\nsteps:\n  - set: {a: 1}\n"},
		{"an object option given a string", "name: p\nsteps:\n  - set: {a: 1}\n    retry: often\n"},
		{"two connectors in one step", "name: p\nsteps:\n  - set: {a: 1}\n    jq: {query: .}\n"},
		{"no connector in a step", "name: p\nsteps:\n  - name: nothing\n"},
		{"unknown top-level key", "name: p\nstpes: []\nsteps:\n  - set: {a: 1}\n"},
		{"missing steps", "name: p\n"},
		{"empty steps", "name: p\nsteps: []\n"},
		{"misspelt step option", "name: p\nsteps:\n  - set: {a: 1}\n    on_eror: continue\n"},
		{"to neither vars.NAME nor message.PATH", "name: p\nsteps:\n  - set: {a: 1}\n    to: result\n"},
		{"to a variable without a name", "name: p\nsteps:\n  - set: {a: 1}\n    to: vars\n"},
		{"on_error neither fail nor continue", "name: p\nsteps:\n  - set: {a: 1}\n    on_error: ignore\n"},
		{"enum option out of its values", "name: p\nsteps:\n  - rest:\n      url: http://127.0.0.1/\n      method: FETCH\n"},
		{"missing required option", "name: p\nsteps:\n  - rest:\n      method: GET\n"},
		{"a connector with a required option left empty", "name: p\nsteps:\n  - assert:\n"},
		{"a text option given an object", "name: p\nsteps:\n  - log: {message: {text: hi}}\n"},
		{"unknown trigger", "name: p\ntrigger:\n  htp: {path: /x}\nsteps:\n  - set: {a: 1}\n"},
		{"two triggers", "name: p\ntrigger:\n  http: {path: /x}\n  event: x\nsteps:\n  - set: {a: 1}\n"},
		{"misspelt trigger option", "name: p\ntrigger:\n  http: {pth: /x}\nsteps:\n  - set: {a: 1}\n"},
		{"a trigger without its required option", "name: p\ntrigger:\n  http:\nsteps:\n  - set: {a: 1}\n"},
		{"misspelt option in a nested step", "name: p\nsteps:\n  - for-each:\n      steps:\n        - rest: {url: http://127.0.0.1/, methd: GET}\n"},
		{"a step that is not an object", "name: p\nsteps:\n  - set\n"},
		{"a bad pipeline name", "name: my pipeline\nsteps:\n  - set: {a: 1}\n"},
		{"globals not an object", "name: p\nglobals: [a]\nsteps:\n  - set: {a: 1}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := engine.Load("p.yaml", []byte(tt.yaml), engine.LoadOptions{}); err == nil {
				t.Fatalf("Nectar loads this pipeline; the case tests nothing:\n%s", tt.yaml)
			}
			inst, err := yamlInstance([]byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			for name, sch := range schemas {
				if err := sch.Validate(inst); err == nil {
					t.Errorf("the schema (%s) accepts:\n%s", name, tt.yaml)
				}
			}
		})
	}
}
