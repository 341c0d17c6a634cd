package log_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/enginetest"
	"github.com/nectar-run/nectar/engine/value"
)

// TestFieldsKeepTheirOrder: log fields come out in the order of the file, at
// every load (they used to come from a Go map, in a random order).
func TestFieldsKeepTheirOrder(t *testing.T) {
	for i := 0; i < 5; i++ {
		p := enginetest.Load(t, "name: test\nsteps:\n  - {name: l, log: {message: m, fields: {a: '1', b: '2', c: '3', d: '4', e: '5', f: '6', g: '7', h: '8'}}}\n")
		_, records, err := capture(t, p, `{}`, slog.LevelInfo)
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Join(records[0].Keys(), ",")
		if want := "level,msg,step,a,b,c,d,e,f,g,h,execution_id,pipeline"; got != want {
			t.Fatalf("load %d: got keys %s, want %s", i+1, got, want)
		}
	}
}

// TestSensitiveFieldsAreMaskedInLogs: as Digibee's Log does, a log step shows
// the pipeline's sensitive_fields as *** in its fields and in the objects its
// message embeds, at any depth; the message's literal text is left alone, and
// the logged message itself is not changed.
func TestSensitiveFieldsAreMaskedInLogs(t *testing.T) {
	const input = `{"id":1,"card_number":"4111111111111111","payer":{"cvv":"123","name":"Ada"},"lines":[{"cvv":"999"}]}`
	tests := []struct{ name, log, want string }{
		{
			name: "the whole message in a field",
			log:  `{message: received, fields: {request: '{{ message }}'}}`,
			want: `{"level":"INFO","msg":"received","step":"log#1","request":{"id":1,"card_number":"***","payer":{"cvv":"***","name":"Ada"},"lines":[{"cvv":"***"}]},"execution_id":"exec-1","pipeline":"test"}`,
		},
		{
			name: "a field named like a sensitive one",
			log:  `{message: received, fields: {card_number: '{{ message.card_number }}', id: '{{ message.id }}'}}`,
			want: `{"level":"INFO","msg":"received","step":"log#1","card_number":"***","id":1,"execution_id":"exec-1","pipeline":"test"}`,
		},
		{
			name: "an object written into the message text",
			log:  `{message: 'got {{ message.payer }} for card_number {{ message.id }}'}`,
			want: `{"level":"INFO","msg":"got {\"cvv\":\"***\",\"name\":\"Ada\"} for card_number 1","step":"log#1","execution_id":"exec-1","pipeline":"test"}`,
		},
		{
			name: "a sensitive value picked as text is free text",
			log:  `{message: 'card {{ message.payer.name }}'}`,
			want: `{"level":"INFO","msg":"card Ada","step":"log#1","execution_id":"exec-1","pipeline":"test"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := enginetest.Load(t, "name: test\nsensitive_fields: [card_number, cvv]\nsteps:\n  - log: "+tt.log+"\n")
			out, records, err := capture(t, p, input, slog.LevelInfo)
			if err != nil {
				t.Fatal(err)
			}
			if got := value.MustEncodeString(records[0]); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if got := value.MustEncodeString(out); got != input {
				t.Errorf("the message changed: %s", got)
			}
		})
	}
}

// TestUsualSecretsAreMaskedInLogs: fields named like the usual secrets
// (password, token, …) and those the server lists are masked without a
// pipeline naming them, as they are in execution records.
func TestUsualSecretsAreMaskedInLogs(t *testing.T) {
	p := enginetest.Load(t, "name: test\nsteps:\n  - log: {message: 'login {{ message }}', fields: {password: '{{ message.password }}', user: '{{ message.user }}'}}\n")
	logger, log := enginetest.CaptureLog(slog.LevelInfo)
	in := `{"user":"ada","password":"hunter2","session":{"token":"t0k3n","pin":"1234"}}`
	if _, err := p.Run(context.Background(), &engine.Runtime{Logger: logger, SensitiveFields: []string{"pin"}}, enginetest.Decode(t, in), engine.RunOptions{ExecutionID: "exec-1"}); err != nil {
		t.Fatal(err)
	}
	want := `{"level":"INFO","msg":"login {\"user\":\"ada\",\"password\":\"***\",\"session\":{\"token\":\"***\",\"pin\":\"***\"}}","step":"log#1","password":"***","user":"ada","execution_id":"exec-1","pipeline":"test"}`
	if got := value.MustEncodeString(log.Records(t)[0]); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestFieldsMustBeAnObject(t *testing.T) {
	enginetest.WantLoadError(t, "test.yaml", "name: test\nsteps:\n  - log: {message: m, fields: [a, b]}\n", "steps[0].log.fields: expected an object of fields")
}
