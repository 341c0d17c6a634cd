package engine_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/nectar-run/nectar/engine"
)

// TestHTTPStatus reads every kind of value a status expression can give:
// whole numbers and decimal strings from 100 to 599 are statuses, anything
// with a fraction, trailing text or out of range is not.
func TestHTTPStatus(t *testing.T) {
	tests := []struct {
		in   any
		want int // 0: refused
	}{
		{int64(200), 200}, {int(404), 404}, {float64(201), 201}, {float32(503), 503},
		{"422", 422}, {"+201", 201}, {json.Number("302"), 302}, {int64(100), 100}, {int64(599), 599},
		{float64(200.5), 0}, {float32(200.5), 0}, {"200.5", 0}, {"404abc", 0}, {" 404", 0}, {"", 0},
		{json.Number("200.5"), 0}, {int64(99), 0}, {int64(600), 0}, {float64(99.0), 0}, {float64(-200), 0},
		{math.NaN(), 0}, {math.Inf(1), 0}, {float64(1e300), 0}, {"99999999999999999999", 0},
		{true, 0}, {nil, 0}, {[]any{int64(200)}, 0},
	}
	for _, tt := range tests {
		got, ok := engine.HTTPStatus(tt.in)
		if ok != (tt.want != 0) || got != tt.want {
			t.Errorf("HTTPStatus(%#v) = %d, %v; want %d", tt.in, got, ok, tt.want)
		}
	}
}
