package httpjson

import (
	"net/http"
	"testing"
	"time"
)

// TestDateIsNetHTTPs gives date times in and out of order, within one
// second and across seconds, zones and years: each answer is the text
// net/http writes for that time (http.TimeFormat in UTC), whatever the
// cache held.
func TestDateIsNetHTTPs(t *testing.T) {
	base := time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC)
	paris := time.FixedZone("CET", 3600)
	for i, at := range []time.Time{
		base, base.Add(999 * time.Millisecond), base.Add(time.Second), base.Add(1500 * time.Millisecond),
		base, base.Add(-time.Nanosecond), base.In(paris), base.Add(time.Second).In(paris),
		time.Unix(0, 0), time.Unix(-1, 0), time.Unix(-1, 5e8), time.Now(), time.Now(),
	} {
		got := date(at)
		if want := at.UTC().Format(http.TimeFormat); len(got) != 1 || got[0] != want {
			t.Errorf("%d: date(%v) = %q, want [%q]", i, at, got, want)
		}
	}
}
