package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestPercentileIsNearestRank(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
		p    float64
		want time.Duration
	}{
		{"p99 of 100", 100, 99, 99 * time.Millisecond},
		{"p99 of 10 is the highest", 10, 99, 10 * time.Millisecond},
		{"p50 of 10", 10, 50, 5 * time.Millisecond},
		{"p99 of 1000", 1000, 99, 990 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ds []time.Duration
			for i := tc.n; i >= 1; i-- { // unsorted on purpose
				ds = append(ds, time.Duration(i)*time.Millisecond)
			}
			if got := percentile(ds, tc.p); got != tc.want {
				t.Errorf("percentile(1..%d ms, %g) = %s, want %s", tc.n, tc.p, got, tc.want)
			}
		})
	}
	if got := percentile(nil, 99); got != 0 {
		t.Errorf("percentile of nothing = %s, want 0", got)
	}
}

// run60 is a passing 60 s soak as the rules see it: six load samples, flat.
func run60() *verdict {
	v := &verdict{
		c:         config{historyMax: 2000},
		loadStart: 15 * time.Second, loadEnd: 75 * time.Second,
		sent: 8400, idleBefore: idleLevel{20, 13}, idleAfter: idleLevel{21, 13},
		ticks: 60, published: 1400, delivered: 1400,
	}
	for i := range 6 {
		v.samples = append(v.samples, sample{
			T: time.Duration(20+10*i) * time.Second, Phase: "load", RSS: 48e6, HeapLive: 8e6, History: 2100,
			Executions: float64(2000 * (i + 1)), Window: window{requests: 1200, p99: 8 * time.Millisecond},
		})
	}
	v.samples = append(v.samples, sample{T: 85 * time.Second, Phase: "after", RSS: 48e6, HeapLive: 8e6, History: 2100, Executions: 12000})
	return v
}

func failing(v *verdict) []string {
	var out []string
	for _, r := range v.rules() {
		if !r.ok {
			out = append(out, r.name)
		}
	}
	return out
}

func TestRulesPassAFlatRun(t *testing.T) {
	if f := failing(run60()); len(f) > 0 {
		t.Fatalf("a flat run fails %v", f)
	}
}

// Each case breaks one thing of a passing run; exactly that rule fails.
func TestRulesCatch(t *testing.T) {
	for _, tc := range []struct {
		rule  string
		spoil func(v *verdict)
	}{
		{"no error answers", func(v *verdict) { v.failed = 1 }},
		{"server kept up", func(v *verdict) { v.skipped = 3 }},
		{"no failed executions", func(v *verdict) { v.samples[len(v.samples)-1].Failed = 1 }},
		{"no expired token sent", func(v *verdict) { v.refused = 1 }},
		{"schedule ran every second", func(v *verdict) { v.ticks = 40 }},
		{"every event delivered", func(v *verdict) { v.delivered = 1399 }},
		{"no leaked goroutines", func(v *verdict) { v.idleAfter.goroutines = 26 }},
		{"no leaked fds", func(v *verdict) { v.idleAfter.fds = 16 }},
		{"RSS flat", func(v *verdict) {
			for i := 3; i < 6; i++ {
				v.samples[i].RSS = 54e6 // +12.5 % from the middle to the end
			}
		}},
		{"heap flat", func(v *verdict) {
			for i := 3; i < 6; i++ {
				v.samples[i].HeapLive = 9e6 // +12.5 %, +1 MB
			}
		}},
		{"history trimmed", func(v *verdict) { v.samples[4].History = 2713 }},
		{"history trimmed", func(v *verdict) { v.samples[len(v.samples)-1].Executions = 2500 }},
		{"p99 stable", func(v *verdict) {
			for i := 4; i < 6; i++ {
				v.samples[i].Window.p99 = 300 * time.Millisecond
			}
		}},
		{"server stopped cleanly", func(v *verdict) { v.serverExit = "exit status 1" }},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			v := run60()
			tc.spoil(v)
			if f := failing(v); len(f) != 1 || f[0] != tc.rule {
				t.Errorf("failing rules %v, want [%s]", f, tc.rule)
			}
		})
	}
}

func TestRulesToleratesHalfAMegabyteOfHeap(t *testing.T) {
	v := run60()
	for i := range 3 {
		v.samples[i].HeapLive = 3e6
	}
	for i := 3; i < 6; i++ {
		v.samples[i].HeapLive = 3.45e6 // +15 %, but 0.45 MB
	}
	if f := failing(v); len(f) > 0 {
		t.Fatalf("a small heap moving by 0.45 MB fails %v", f)
	}
}

func TestRulesToleratesOneSlowWindow(t *testing.T) {
	v := run60()
	v.samples[5].Window.p99 = 200 * time.Millisecond
	v.samples[4].RSS = 60e6 // one high reading, not a trend
	if f := failing(v); len(f) > 0 {
		t.Fatalf("one slow window fails %v", f)
	}
}

func TestPlotIsWellFormedSVG(t *testing.T) {
	v := run60()
	v.samples[len(v.samples)-1].Window = window{} // no requests: no p99 point
	out := plot(v.samples, v.loadStart, v.loadEnd, 2000)
	if bytes.Contains(out, []byte("NaN")) {
		t.Errorf("the plot has NaN coordinates")
	}
	d := xml.NewDecoder(bytes.NewReader(out))
	lines := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "polyline" {
			lines++
		}
	}
	want := 0
	for _, p := range panels {
		want += len(p.lines)
	}
	if lines != want {
		t.Errorf("%d polylines, want %d", lines, want)
	}
}

// The fake accepts live tokens only, and its refresh tokens once.
func TestFake(t *testing.T) {
	f, err := startFake(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer f.srv.Close()
	token := func(form url.Values) (int, map[string]any) {
		form.Set("client_id", fakeClientID)
		form.Set("client_secret", f.secret)
		res, err := http.PostForm(f.url+"/token", form)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out
	}
	api := func(tok string) int {
		req, _ := http.NewRequest(http.MethodGet, f.url+"/api/echo?n=7", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	code, tok := token(url.Values{"grant_type": {"client_credentials"}})
	if code != 200 || tok["expires_in"] != float64(3600) {
		t.Fatalf("client_credentials: %d %v", code, tok)
	}
	if got := api(tok["access_token"].(string)); got != 200 {
		t.Errorf("a live token: %d, want 200", got)
	}
	if got := api("soak-access-1-forged"); got != 401 || f.refused.Load() != 1 {
		t.Errorf("an unknown token: %d (refused %d), want 401 (1)", got, f.refused.Load())
	}
	f.mu.Lock()
	f.refresh["rt-1"] = true
	f.mu.Unlock()
	if code, out := token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"rt-1"}}); code != 200 || out["refresh_token"] == nil {
		t.Errorf("refresh: %d %v", code, out)
	}
	if code, out := token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"rt-1"}}); code != 400 || !strings.Contains(out["error"].(string), "invalid_grant") {
		t.Errorf("a refresh token used twice: %d %v, want 400 invalid_grant", code, out)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {fakeClientID}, "client_secret": {"wrong"}}
	res, err := http.PostForm(f.url+"/token", form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Errorf("a wrong client secret: %d, want 401", res.StatusCode)
	}
}
