package main

import (
	"bytes"
	"fmt"
	"math"
	"time"
)

// A series is one line of a panel.
type series struct {
	name  string
	color string
	get   func(sample) float64
}

// A panel is one chart of the plot, sharing the time axis.
type panel struct {
	title string
	lines []series
}

var panels = []panel{
	{"memory (MB)", []series{
		{"RSS", "#1f77b4", func(s sample) float64 { return s.RSS / 1e6 }},
		{"heap live", "#d62728", func(s sample) float64 { return s.HeapLive / 1e6 }},
		{"heap alloc", "#ff7f0e", func(s sample) float64 { return s.HeapAlloc / 1e6 }},
		{"heap goal", "#2ca02c", func(s sample) float64 { return s.HeapGoal / 1e6 }},
	}},
	{"goroutines", []series{{"goroutines", "#9467bd", func(s sample) float64 { return s.Goroutines }}}},
	{"open fds", []series{{"open fds", "#8c564b", func(s sample) float64 { return s.FDs }}}},
	{"history records", []series{{"records", "#e377c2", func(s sample) float64 { return float64(s.History) }}}},
	{"p99 per window (ms)", []series{
		{"all", "#000000", func(s sample) float64 { return ms64(s.Window.p99) }},
		{"token", "#1f77b4", func(s sample) float64 { return ms64(s.Window.p99By["token"]) }},
		{"transform", "#ff7f0e", func(s sample) float64 { return ms64(s.Window.p99By["transform"]) }},
		{"api", "#2ca02c", func(s sample) float64 { return ms64(s.Window.p99By["api"]) }},
		{"event", "#d62728", func(s sample) float64 { return ms64(s.Window.p99By["event"]) }},
	}},
}

// ms64 is d in milliseconds; NaN (no point drawn) for a window without
// requests.
func ms64(d time.Duration) float64 {
	if d == 0 {
		return math.NaN()
	}
	return float64(d) / float64(time.Millisecond)
}

// plot draws the samples as an SVG, one panel per measure over time, the
// load's span shaded, and historyMax as a dashed line on the history's
// panel. Plain SVG written by hand: no plotting dependency.
func plot(samples []sample, loadStart, loadEnd time.Duration, historyMax int) []byte {
	const (
		width, panelH, left, right, top, gap = 900.0, 150.0, 70.0, 130.0, 30.0, 40.0
	)
	height := top + float64(len(panels))*(panelH+gap)
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="11">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%.0f" y="18" font-size="14">nectar soak: %s of load (shaded) after a warm-up</text>`+"\n", left, (loadEnd - loadStart).Round(time.Second))
	tMax := 1.0
	if len(samples) > 0 {
		tMax = math.Max(samples[len(samples)-1].T.Seconds(), 1)
	}
	plotW := width - left - right
	x := func(t float64) float64 { return left + plotW*t/tMax }
	for i, p := range panels {
		y0 := top + float64(i)*(panelH+gap) + 15
		vMax, limit := 0.0, math.NaN()
		if p.title == "history records" {
			limit = float64(historyMax)
			vMax = limit
		}
		for _, l := range p.lines {
			for _, s := range samples {
				if v := l.get(s); !math.IsNaN(v) {
					vMax = math.Max(vMax, v)
				}
			}
		}
		vMax = niceCeil(vMax)
		y := func(v float64) float64 { return y0 + panelH - panelH*v/vMax }
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="12">%s</text>`+"\n", left, y0-4, p.title)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#eef3fb"/>`+"\n",
			x(loadStart.Seconds()), y0, x(loadEnd.Seconds())-x(loadStart.Seconds()), panelH)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#999"/>`+"\n", left, y0, plotW, panelH)
		for _, f := range []float64{0, 0.5, 1} {
			fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" text-anchor="end">%s</text>`+"\n", left-5, y(f*vMax)+4, tick(f*vMax))
		}
		if !math.IsNaN(limit) {
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#999" stroke-dasharray="4 3"/>`+"\n", left, left+plotW, y(limit), y(limit))
			fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" fill="#999">--history-max</text>`+"\n", width-right+10, y(limit)+4)
		}
		for j, l := range p.lines {
			var pts bytes.Buffer
			for _, s := range samples {
				if v := l.get(s); !math.IsNaN(v) {
					fmt.Fprintf(&pts, "%.1f,%.1f ", x(s.T.Seconds()), y(v))
				}
			}
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`+"\n", l.color, bytes.TrimSpace(pts.Bytes()))
			fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" fill="%s">%s</text>`+"\n", width-right+10, y0+12+14*float64(j), l.color, l.name)
		}
		// The time axis, in seconds since the warm-up began.
		for _, f := range []float64{0, 0.25, 0.5, 0.75, 1} {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%.0fs</text>`+"\n", x(f*tMax), y0+panelH+13, f*tMax)
		}
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten (1 for 0).
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func tick(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2g", v)
}
