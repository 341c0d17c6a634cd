// Package baseline is the hand-written net/http handler nectar serve is
// measured against: it does the bench pipeline's work (check that id and
// email are present, rename five fields, pass the rest) with encoding/json,
// as a Go developer would write it without Nectar.
package baseline

import (
	"encoding/json"
	"io"
	"net/http"
)

var renames = [...][2]string{
	{"id", "customer_id"}, {"name", "full_name"}, {"email", "email_address"},
	{"phone", "phone_number"}, {"country", "country_code"},
}

// Handler returns the baseline handler.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			http.Error(w, `{"error":"method not allowed","code":405}`, http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 5<<20))
		if err != nil {
			http.Error(w, `{"error":"body too large","code":413}`, http.StatusRequestEntityTooLarge)
			return
		}
		var in map[string]any
		if err := json.Unmarshal(body, &in); err != nil {
			http.Error(w, `{"error":"malformed JSON","code":400}`, http.StatusBadRequest)
			return
		}
		if in["id"] == nil || in["email"] == nil {
			http.Error(w, `{"error":"assertion failed","code":400}`, http.StatusBadRequest)
			return
		}
		out := make(map[string]any, len(in))
		for k, v := range in {
			out[k] = v
		}
		for _, rn := range renames {
			if v, ok := out[rn[0]]; ok {
				delete(out, rn[0])
				out[rn[1]] = v
			}
		}
		b, err := json.Marshal(out)
		if err != nil {
			http.Error(w, `{"error":"encoding","code":500}`, http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	})
}
