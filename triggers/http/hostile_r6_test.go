package http_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/nectar-run/nectar/internal/servertest"
)

// TestMetadataGroupUnderHostileRequests: metadata.request, its headers,
// params and query and the metadata object are made in one block
// (value.NewObjectGroup). Requests with 6, 7, 32 and 33 headers (the
// group's room for headers and one past it; the inline sort's room and one
// past it), repeated headers and odd casings, path parameters and a query,
// through a pipeline that takes metadata.request.headers into a variable
// and grows it far past its room: every field of metadata.request (and the
// headers object read again after the growth) is what the request sent.
// Run concurrently, under -race.
func TestMetadataGroupUnderHostileRequests(t *testing.T) {
	var grow []string
	for i := range 12 {
		grow = append(grow, fmt.Sprintf("  - set: \"g%d\"\n    to: vars.h.grown%02d\n", i, i))
	}
	e := servertest.Start(t, map[string]string{"m.yaml": `
name: m
trigger:
  http: {path: "/m/{id}/{part}", methods: [POST]}
steps:
  - set: "{{ metadata.request.headers }}"
    to: vars.h
` + strings.Join(grow, "") + `  - set:
      req: "{{ metadata.request }}"
      trigger: "{{ metadata.trigger }}"
      headers_after: "{{ metadata.request.headers }}"
      grown: "{{ vars.h }}"
`}, nil)
	// The client adds User-Agent, Accept-Encoding and Content-Length; the
	// request sets Content-Type: 4 before the extras.
	cases := []int{2, 3, 28, 29, 40}
	var wg sync.WaitGroup
	for _, extra := range cases {
		for round := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				hdr := map[string]string{"Content-Type": "application/json"}
				for i := range extra {
					name := fmt.Sprintf("x-hOsTiLe-%02d", i) // odd casing: canonicalized by net/http
					hdr[name] = fmt.Sprintf("v%d-%d", i, round)
				}
				path := fmt.Sprintf("/m/id%d/p%d?q=%d&q=x&e=%%C3%%A9", extra, round, round)
				code, _, body := e.Do(t, http.MethodPost, path, `{"a":1}`, hdr)
				if code != 200 {
					t.Errorf("%d headers: %d %s", extra+4, code, body)
					return
				}
				var out struct {
					Req struct {
						Method      string            `json:"method"`
						Path        string            `json:"path"`
						Params      map[string]string `json:"params"`
						Query       map[string]any    `json:"query"`
						Headers     map[string]string `json:"headers"`
						ContentType string            `json:"content_type"`
						RemoteAddr  string            `json:"remote_addr"`
					} `json:"req"`
					Trigger      string            `json:"trigger"`
					HeadersAfter map[string]string `json:"headers_after"`
				}
				if err := json.Unmarshal([]byte(body), &out); err != nil {
					t.Errorf("%d headers: %v in %s", extra+4, err, body)
					return
				}
				r := out.Req
				want := fmt.Sprintf("/m/id%d/p%d", extra, round)
				if r.Method != "POST" || r.Path != want || r.ContentType != "application/json" || r.RemoteAddr == "" || out.Trigger != "http" {
					t.Errorf("%d headers: request fields %+v (trigger %q)", extra+4, r, out.Trigger)
				}
				if r.Params["id"] != "id"+strconv.Itoa(extra) || r.Params["part"] != "p"+strconv.Itoa(round) || len(r.Params) != 2 {
					t.Errorf("%d headers: params %v", extra+4, r.Params)
				}
				if q, _ := json.Marshal(r.Query); string(q) != fmt.Sprintf(`{"e":"é","q":["%d","x"]}`, round) {
					t.Errorf("%d headers: query %s", extra+4, q)
				}
				for _, hs := range []map[string]string{r.Headers, out.HeadersAfter} {
					if len(hs) != extra+4 { // the variable is a copy: its growth is its own
						t.Errorf("%d headers: %d in metadata: %v", extra+4, len(hs), hs)
					}
					for i := range extra {
						if v := hs[fmt.Sprintf("x-hostile-%02d", i)]; v != fmt.Sprintf("v%d-%d", i, round) {
							t.Errorf("%d headers: x-hostile-%02d = %q", extra+4, i, v)
						}
					}
					if hs["content-type"] != "application/json" || hs["content-length"] != "7" {
						t.Errorf("%d headers: %v", extra+4, hs)
					}
				}
			}()
		}
	}
	wg.Wait()
}

// TestContentLengthSharedAtTheCacheEdge: answers of 0, 1, 4095, 4096
// (the largest length whose Content-Length value is shared) and 4097 bytes,
// from a respond step that sets its own Content-Length and other headers
// and from the final message, concurrently (-race): each answer's
// Content-Length is its body's length, and the body arrives whole.
func TestContentLengthSharedAtTheCacheEdge(t *testing.T) {
	e := servertest.Start(t, map[string]string{"cl.yaml": `
name: cl
trigger:
  http: {path: /cl, methods: [POST]}
steps:
  - if: message.respond == true
    respond:
      status: 201
      headers: {Content-Length: "3", X-Len: "{{ message.n }}", Content-Type: text/plain}
      body: "{{ message.s }}"
  - set: "{{ message.s }}"
`}, nil)
	var wg sync.WaitGroup
	for _, n := range []int{0, 1, 4093, 4094, 4095, 4096, 4097, 70000} {
		for _, respond := range []bool{false, true} {
			for range 3 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					// The final message is the JSON string: n-2 characters
					// and the quotes make n bytes.
					sn := n
					if !respond {
						sn = max(n-2, 0)
					}
					in, _ := json.Marshal(map[string]any{"respond": respond, "n": n, "s": strings.Repeat("a", sn)})
					code, hdr, body := e.Do(t, http.MethodPost, "/cl", string(in), map[string]string{"Content-Type": "application/json"})
					if code != 200 && code != 201 {
						t.Errorf("n %d respond %v: %d", n, respond, code)
						return
					}
					if cl := hdr.Values("Content-Length"); len(cl) != 1 || cl[0] != strconv.Itoa(len(body)) {
						t.Errorf("n %d respond %v: Content-Length %q for a body of %d bytes", n, respond, cl, len(body))
					}
					if respond && len(body) != n {
						t.Errorf("n %d respond: body of %d bytes", n, len(body))
					}
				}()
			}
		}
	}
	wg.Wait()
}

// TestCredentialHeadersMaskedWhateverTheirCompany: requestMetadata notes
// whether the request carries an Apikey, X-Api-Key or Authorization header
// (requestSecrets looks them up only then). Sent lowercased or upper-cased,
// alone, among 6, 7, 32 and 40 others, each credential the pipeline copies
// into its answer under a name that says nothing is masked in the
// execution's record.
func TestCredentialHeadersMaskedWhateverTheirCompany(t *testing.T) {
	e := servertest.Start(t, map[string]string{"c.yaml": `
name: c
trigger:
  http: {path: /c, methods: [POST]}
steps:
  - set:
      a: "seen {{ metadata.request.headers['x-api-key'] }}"
      b: "seen {{ metadata.request.headers.apikey }}"
      c: "seen {{ metadata.request.headers.authorization }}"
`}, nil)
	const key, tok, pass = "key-0123456789abcdef", "tok-0123456789abcdef", "pw-0123456789abcdef"
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("user:"+pass))
	creds := []map[string]string{
		{"x-api-key": key}, {"APIKEY": key}, {"authorization": "Bearer " + tok}, {"AUTHORIZATION": basic},
		{"X-API-KEY": key, "authorization": "bearer " + tok},
	}
	for _, others := range []int{0, 2, 3, 28, 36} {
		for _, c := range creds {
			hdr := map[string]string{"Content-Type": "application/json"}
			for i := range others {
				hdr[fmt.Sprintf("A-%02d", i)] = "v"
			}
			for k, v := range c {
				hdr[k] = v
			}
			code, rh, body := e.Do(t, http.MethodPost, "/c", `{}`, hdr)
			if code != 200 {
				t.Fatalf("%v: %d %s", c, code, body)
			}
			rec := e.Record(t, rh)
			b, _ := json.Marshal(rec)
			for _, s := range []string{key, tok, pass} {
				if strings.Contains(string(b), s) {
					t.Errorf("%d other headers, %v: the record holds %q: %s", others, c, s, b)
				}
			}
		}
	}
}
