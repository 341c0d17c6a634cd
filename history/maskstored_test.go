package history_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/history"
)

// sensitiveSpellings are keys a message may carry for sensitive names, as
// they appear in JSON text: every casing, separator (_ - . space tab) and
// escape (\u0061 for a, \t) engine.SensitiveField treats as the name.
var sensitiveSpellings = []string{
	`password`, `Password`, `PASSWORD`, `pass_word`, `pass-word`, `pass word`, `_password_`, `PassWord`,
	`p\u0061ssword`, `pa\u0073s\u0077ord`, `pass\tword`, `\u0050ASSWORD`,
	`client_secret`, `clientSecret`, `Client-Secret`, `CLIENT SECRET`, `client\u005fsecret`,
	`x-api-key`, `X_API_KEY`, `xApiKey`, `Authorization`, `\u0041uthorization`, `Set-Cookie`,
	`refresh_token`, `RefreshToken`, `id-token`, `PRIVATE_KEY`, `credentials`, `pin code`, `Pin-Code`,
	`client.secret`, `Api.Key`, `access.token`, `pin.code`,
}

// sensitiveDoc is a JSON document holding the secret value of each
// spelling under that key, at the top, nested in objects and in lists,
// and as objects and lists of their own under the key.
func sensitiveDoc(tag string) (doc string, secrets []string) {
	var b strings.Builder
	b.WriteString(`{"plain":"nothing here"`)
	top := map[string]bool{} // keys at the top, as decoded: none repeats
	for i, k := range sensitiveSpellings {
		s := fmt.Sprintf("%s-secret-%02d-value", tag, i)
		secrets = append(secrets, s)
		var key string
		if err := json.Unmarshal([]byte(`"`+k+`"`), &key); err != nil {
			panic(err)
		}
		switch i % 4 {
		case 0:
			if top[key] {
				fmt.Fprintf(&b, `,"t%d":{"%s":"%s"}`, i, k, s)
			} else {
				fmt.Fprintf(&b, `,"%s":"%s"`, k, s)
			}
			top[key] = true
		case 1:
			fmt.Fprintf(&b, `,"n%d":{"deeper":[1,{"%s":"%s"}]}`, i, k, s)
		case 2:
			fmt.Fprintf(&b, `,"l%d":[[{"x":null,"%s":{"inner":["%s"]}}]]`, i, k, s)
		case 3:
			fmt.Fprintf(&b, `,"o%d":[{"%s":["a","%s"]}]`, i, k, s)
		}
	}
	b.WriteString(`}`)
	return b.String(), secrets
}

// TestStoredRecordsMaskEverySpelling records an execution whose input,
// output, error and every step's input and result hold sensitive fields in
// every spelling, nested at any depth, and reads the record back as the
// management API serves it: no secret value may be in it, neither under
// its key nor where it is repeated bare in a later message.
func TestStoredRecordsMaskEverySpelling(t *testing.T) {
	st := tempStore(t)
	ctx := context.Background()
	r := newRecorder(t, st, history.Options{Steps: true, Exchanges: true})
	pipe := &engine.Pipeline{Name: "p", SensitiveFields: []string{"PIN_CODE"}}
	start := time.Date(2026, 12, 6, 21, 0, 0, 123456789, time.FixedZone("x", 3600))
	var all []string
	decode := func(tag string) (any, string) {
		doc, secrets := sensitiveDoc(tag)
		all = append(all, secrets...)
		v, err := value.DecodeString(doc)
		if err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		return v, doc
	}
	in, inJSON := decode("in")
	out, outJSON := decode("out")
	errFields, _ := decode("err")
	stepIn, _ := decode("stepin")
	stepRes, _ := decode("stepres")
	// A later message repeating the input's secrets bare: they are noted
	// from the sensitive fields and masked here too.
	bare := make([]any, 0, len(all))
	for _, s := range all[:len(sensitiveSpellings)] {
		bare = append(bare, "echo "+s)
	}
	tr := &engine.Trace{KeepIO: true, KeepResult: func(*engine.StepInfo) bool { return true }}
	for i := range 3 {
		rec := engine.StepRecord{StepInfo: stepInfos[i], Start: start, Outcome: "ok", Input: stepIn, KeptInput: true, Result: stepRes, Kept: true}
		if i == 2 {
			rec.Input, rec.Result = value.ObjectOf("bare", bare), bare
		}
		tr.Steps = append(tr.Steps, rec)
	}
	e := &engine.Error{Code: 502, Message: "upstream refused", Fields: errFields.(*value.Object)}
	for _, c := range []struct {
		name     string
		withText bool
		err      *engine.Error
	}{{"text kept, failed", true, e}, {"text kept, ok", true, nil}, {"values only, failed", false, e}, {"values only, ok", false, nil}} {
		ex := &history.Execution{ID: history.NewID(start), Pipeline: pipe, Trigger: "http", Start: start, End: start.Add(time.Millisecond),
			Input: in, Output: out, Err: c.err, Trace: tr, Request: "POST /x", Code: 200}
		if c.withText {
			ex.InputJSON, ex.OutputJSON = inJSON, outJSON
		}
		r.Record(ex)
		if err := r.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := history.Get(ctx, st, ex.ID)
		if err != nil {
			t.Fatal(err)
		}
		text, err := json.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		var leaked []string
		for _, s := range all {
			if strings.Contains(string(text), s) {
				leaked = append(leaked, s)
			}
		}
		if len(leaked) > 0 {
			t.Errorf("%s: the stored record holds %q", c.name, leaked)
		}
		if !strings.Contains(string(text), "nothing here") || len(got.Steps) != 3 || got.Input == nil || (got.Output == nil) != (c.err != nil) || (got.Error == nil) != (c.err == nil) {
			t.Errorf("%s: the record lost what it should keep: %s", c.name, text)
		}
	}
	r.Close(ctx)
}
