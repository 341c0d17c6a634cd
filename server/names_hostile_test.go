package server_test

import (
	"strings"
	"testing"

	"github.com/nectar-run/nectar/internal/servertest"
)

// TestRecordMasksKeysByTheirSpelling posts keys whose first bytes differ
// from the sensitive name they normalize to (a separator before it, case,
// a space inside it), keys of 0, 1 and 2 bytes, and non-ASCII spellings
// that are not the name (only ASCII capitals are lowered): the stored
// record's input masks exactly the sensitive ones.
func TestRecordMasksKeysByTheirSpelling(t *testing.T) {
	e := servertest.Start(t, map[string]string{"keys.yaml": `
name: keys
sensitive_fields: [x, "ÄPI", "pi n"]
trigger:
  http: {path: /keys}
steps:
  - set: {seen: true}
`}, nil)
	masked := map[string]string{
		"_password": "val-underscore-password", "-api-key": "val-dash-api-key", " Token": "val-space-token",
		"PASS word": "val-pass-word", "\tOTP": "val-tab-otp", "X": "val-capital-x", "_x_": "val-x-between",
		"ÄPI": "val-a-umlaut-api", "P_I_N": "val-pin", "__": "val-only-separators-not-a-name",
	}
	kept := map[string]string{
		"äpi": "val-lower-umlaut", "xx": "val-xx", "": "val-empty-key", "y": "val-y", "tokens": "val-tokens",
		"pa": "val-pa", "A": "val-a",
	}
	delete(masked, "__") // no name normalizes to "": kept
	kept["__"] = "val-only-separators-not-a-name"
	var body strings.Builder
	body.WriteString("{")
	add := func(m map[string]string) {
		for k, v := range m {
			if body.Len() > 1 {
				body.WriteString(",")
			}
			body.WriteString(`"` + strings.ReplaceAll(k, "\t", `\t`) + `":"` + v + `"`)
		}
	}
	add(masked)
	add(kept)
	body.WriteString("}")
	code, hdr, _ := e.Do(t, "POST", "/keys", body.String(), map[string]string{"Content-Type": "application/json"})
	if code != 200 {
		t.Fatal(code)
	}
	rec := e.Record(t, hdr)
	in := string(rec.Input)
	for k, v := range masked {
		if strings.Contains(in, v) {
			t.Errorf("key %q not masked: %s", k, in)
		}
	}
	for k, v := range kept {
		if !strings.Contains(in, v) {
			t.Errorf("key %q masked, not sensitive: %s", k, in)
		}
	}
}
