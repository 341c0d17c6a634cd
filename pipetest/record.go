package pipetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/nectar-run/nectar/history"
)

// ErrNoExchanges is returned by RecordCase for an execution whose record
// kept no answers of its steps (the history's Exchanges option was off).
var ErrNoExchanges = errors.New("the execution's record holds no answers of its steps: turn on the history's exchanges option (history.Options.Exchanges) and record it again")

// RecordCase writes a test file with one case that replays a recorded
// execution: its input; the answers of its rest, google-drive, onedrive and
// pipeline steps (history.ExchangeConnectors) as mocks, in the order they
// were given; its output, or its error, as the expectation. Values the
// history masked stay masked (***): the case replays what the history
// shows, never a secret. A bug seen in production becomes a test with it.
func RecordCase(rec *history.Record) ([]byte, error) {
	if len(rec.Input) == 0 {
		return nil, fmt.Errorf("execution %s: its input was not kept (the history keeps snapshots of failed executions only, or none)", rec.ID)
	}
	if rec.InputTruncated {
		return nil, fmt.Errorf("execution %s: its input was cut at the history's snapshot size; it cannot be replayed", rec.ID)
	}
	// The steps of called pipelines are mocked only when their pipeline
	// step's own answer was not kept.
	calledKept := false
	for _, st := range rec.Steps {
		if st.Pipeline == "" && st.Connector == "pipeline" && st.Result != "" {
			calledKept = true
		}
	}
	type key struct{ pipeline, step string }
	var order []key
	answers := map[key][]string{}
	var notes []string
	anyExchange := false
	for _, st := range rec.Steps {
		if !isExchange(st.Connector) || st.Pipeline != "" && calledKept {
			continue
		}
		var a string
		switch {
		case st.Outcome == "error" && st.Code != 0:
			a = fmt.Sprintf("error: {code: %d, error: %s}", st.Code, yamlString(st.Error))
		case st.Result != "":
			var s string
			if json.Unmarshal([]byte(st.Result), &s) == nil && strings.HasSuffix(s, history.TruncatedMark) {
				notes = append(notes, fmt.Sprintf("the answer of step %q was larger than the history keeps: mock it by hand", st.Step))
				continue
			}
			a = "result: " + string(st.Result)
		default:
			continue
		}
		anyExchange = true
		k := key{st.Pipeline, st.Step}
		if _, ok := answers[k]; !ok {
			order = append(order, k)
		}
		answers[k] = append(answers[k], a)
	}
	hasSteps := false
	for _, st := range rec.Steps {
		hasSteps = hasSteps || isExchange(st.Connector)
	}
	if hasSteps && !anyExchange && len(notes) == 0 {
		return nil, fmt.Errorf("execution %s: %w", rec.ID, ErrNoExchanges)
	}

	var b bytes.Buffer
	fmt.Fprintf(&b, "# Recorded by nectar test record from execution %s of %s\n", rec.ID, rec.Pipeline)
	fmt.Fprintf(&b, "# (%s, %s, %s). Values the history masked stay masked (***).\n", rec.Trigger, rec.Start.UTC().Format("2006-01-02T15:04:05Z"), rec.Status)
	for _, n := range notes {
		fmt.Fprintf(&b, "# Note: %s.\n", n)
	}
	b.WriteString("cases:\n")
	fmt.Fprintf(&b, "  - name: %s\n", yamlString("execution "+rec.ID))
	fmt.Fprintf(&b, "    input: %s\n", rec.Input)
	if rec.Consumer != "" {
		fmt.Fprintf(&b, "    metadata: {consumer: %s}\n", yamlString(rec.Consumer))
	}
	if len(order) > 0 {
		b.WriteString("    mocks:\n")
		for _, k := range order {
			fmt.Fprintf(&b, "      - step: %s\n", yamlString(k.step))
			if k.pipeline != "" {
				fmt.Fprintf(&b, "        pipeline: %s\n", yamlString(k.pipeline))
			}
			as := answers[k]
			if len(as) == 1 {
				fmt.Fprintf(&b, "        %s\n", as[0])
				continue
			}
			b.WriteString("        results:\n")
			for _, a := range as {
				fmt.Fprintf(&b, "          - %s\n", a)
			}
		}
	}
	b.WriteString("    expect:\n")
	switch {
	case rec.Status == history.StatusFailed:
		var e struct {
			Error string `json:"error"`
			Code  int    `json:"code"`
			Step  string `json:"step"`
		}
		_ = json.Unmarshal(rec.Error, &e)
		fmt.Fprintf(&b, "      error: {code: %d, message: %s", e.Code, yamlString("^"+regexp.QuoteMeta(e.Error)+"$"))
		if e.Step != "" {
			fmt.Fprintf(&b, ", step: %s", yamlString(e.Step))
		}
		b.WriteString("}\n")
	case len(rec.Output) > 0 && !rec.OutputTruncated:
		fmt.Fprintf(&b, "      output: %s\n", rec.Output)
	default:
		return nil, fmt.Errorf("execution %s: its output was not kept whole; nothing to expect", rec.ID)
	}
	return b.Bytes(), nil
}

func isExchange(connector string) bool {
	for _, c := range history.ExchangeConnectors {
		if c == connector {
			return true
		}
	}
	return false
}

// yamlString quotes s for YAML: a JSON string is a YAML double-quoted one.
func yamlString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// RecordHandler serves GET …/{id}: the test case RecordCase writes for the
// execution get returns (history.Get over the server's store), as
// application/yaml. Errors are JSON bodies {"error", "code"}: 404 for an
// unknown id (history.ErrNotFound), 409 when the record cannot be replayed.
// The management API serves it as GET /api/executions/{id}/test.
func RecordHandler(get func(ctx context.Context, id string) (*history.Record, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec, err := get(r.Context(), r.PathValue("id"))
		if err != nil {
			code := http.StatusInternalServerError
			if errors.Is(err, history.ErrNotFound) {
				code = http.StatusNotFound
			}
			writeError(w, code, err)
			return
		}
		text, err := RecordCase(rec)
		if err != nil {
			writeError(w, http.StatusConflict, err)
			return
		}
		w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
		w.Write(text)
	})
}

func writeError(w http.ResponseWriter, code int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	b, _ := json.Marshal(map[string]any{"error": err.Error(), "code": code})
	w.Write(append(b, '\n'))
}
