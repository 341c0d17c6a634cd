package console

import (
	"html/template"
	"net/url"
	"strconv"
	"strings"

	"github.com/nectar-run/nectar/engine"
)

// The diagram is SVG drawn from a loaded pipeline's outline
// (engine.Pipeline.Outline): steps top to bottom; a step holding nested
// steps (choice, try, foreach, dowhile, parallel) is a frame whose blocks
// stand side by side, each labelled as written in the file; a pipeline
// step's called pipeline is drawn nested in it. Every step links to its
// connector's docs.
const (
	boxW     = 210 // a step's box
	boxH     = 40
	gapY     = 14 // between steps
	pad      = 10 // inside a frame
	headH    = 24 // a frame's or block's title
	gapX     = 12 // between blocks
	maxCalls = 3  // called pipelines drawn inside each other at most
)

type svgWriter struct {
	b     strings.Builder
	base  string
	steps int
}

// layout sizes: width and height of a list of steps.
func sizeSteps(steps []engine.OutlineStep, calls func(string) []engine.OutlineStep, depth int) (int, int) {
	w, h := boxW, 0
	for i, s := range steps {
		sw, sh := sizeStep(s, calls, depth)
		w = max(w, sw)
		h += sh
		if i > 0 {
			h += gapY
		}
	}
	return w, h
}

func nestedBlocks(s engine.OutlineStep, calls func(string) []engine.OutlineStep, depth int) []engine.OutlineBlock {
	if len(s.Blocks) > 0 {
		return s.Blocks
	}
	if s.Calls != "" && depth < maxCalls && calls != nil {
		if called := calls(s.Calls); called != nil {
			return []engine.OutlineBlock{{Label: "calls " + s.Calls, Steps: called}}
		}
	}
	return nil
}

func sizeStep(s engine.OutlineStep, calls func(string) []engine.OutlineStep, depth int) (int, int) {
	blocks := nestedBlocks(s, calls, depth)
	if len(blocks) == 0 {
		return boxW, boxH
	}
	if s.Calls != "" {
		depth++
	}
	w, h := 0, 0
	for i, b := range blocks {
		bw, bh := sizeSteps(b.Steps, calls, depth)
		if len(b.Steps) == 0 {
			bh = boxH / 2
		}
		w += bw
		if i > 0 {
			w += gapX
		}
		h = max(h, bh+headH)
	}
	return max(w+2*pad, boxW), h + headH + 2*pad
}

func (sw *svgWriter) steps_(steps []engine.OutlineStep, x, y int, calls func(string) []engine.OutlineStep, depth int) int {
	for i, s := range steps {
		if i > 0 {
			// the arrow from the step above
			sw.line(x+boxW/2, y, x+boxW/2, y+gapY)
			y += gapY
		}
		y += sw.step(s, x, y, calls, depth)
	}
	return y
}

func (sw *svgWriter) step(s engine.OutlineStep, x, y int, calls func(string) []engine.OutlineStep, depth int) int {
	sw.steps++
	href := sw.base + "/connectors/" + url.PathEscape(s.Connector)
	title := s.Step + " — " + s.Connector + " at " + s.Path
	if s.Condition != "" {
		title += " (if " + s.Condition + ")"
	}
	blocks := nestedBlocks(s, calls, depth)
	w, h := sizeStep(s, calls, depth)
	cls := "step"
	if len(blocks) > 0 {
		cls = "frame"
	}
	sw.b.WriteString(`<a href="` + esc(href) + `" class="` + cls + `" data-path="` + esc(s.Path) + `" data-step="` + esc(s.Step) + `"><title>` + esc(title) + `</title>`)
	bh := h
	if len(blocks) > 0 {
		bh = h
	}
	sw.b.WriteString(`<rect x="` + itoa(x) + `" y="` + itoa(y) + `" width="` + itoa(w) + `" height="` + itoa(bh) + `" rx="6"/>`)
	label := s.Step
	if len(label) > 26 {
		label = label[:25] + "…"
	}
	ty := y + 17
	if len(blocks) == 0 {
		ty = y + 17
	}
	sw.b.WriteString(`<text x="` + itoa(x+10) + `" y="` + itoa(ty) + `" class="name">` + esc(label) + `</text>`)
	kind := s.Connector
	if s.Retries > 1 {
		kind += " · retry ×" + itoa(s.Retries)
	}
	if s.Condition != "" {
		kind += " · if"
	}
	sw.b.WriteString(`<text x="` + itoa(x+10) + `" y="` + itoa(ty+15) + `" class="kind">` + esc(kind) + `</text></a>`)
	if len(blocks) == 0 {
		return h
	}
	if s.Calls != "" {
		depth++
	}
	bx := x + pad
	by := y + headH + pad + 8
	for _, b := range blocks {
		bw, _ := sizeSteps(b.Steps, calls, depth)
		label := b.Label
		if b.When != "" {
			label += " when " + b.When
		}
		if fit := bw / 7; len(label) > fit { // about 7 px a character
			label = label[:fit-1] + "…"
		}
		sw.b.WriteString(`<text x="` + itoa(bx) + `" y="` + itoa(by+12) + `" class="block"><title>` + esc(b.Label+" "+b.When) + `</title>` + esc(label) + `</text>`)
		sw.steps_(b.Steps, bx, by+headH, calls, depth)
		bx += bw + gapX
	}
	return h
}

func (sw *svgWriter) line(x1, y1, x2, y2 int) {
	sw.b.WriteString(`<line x1="` + itoa(x1) + `" y1="` + itoa(y1) + `" x2="` + itoa(x2) + `" y2="` + itoa(y2) + `" marker-end="url(#arrow)"/>`)
}

// diagram draws p; called pipelines are looked up among served.
func (c *Console) diagram(p *engine.Pipeline, served []Pipeline) template.HTML {
	byName := map[string]*engine.Pipeline{}
	for _, s := range served {
		if s.Loaded != nil {
			byName[s.Name] = s.Loaded
		}
	}
	return drawDiagram(c.path, p.Outline(), func(name string) []engine.OutlineStep {
		if q := byName[name]; q != nil {
			return q.Outline().Steps
		}
		return nil
	})
}

func drawDiagram(base string, o engine.Outline, calls func(string) []engine.OutlineStep) template.HTML {
	w, h := sizeSteps(o.Steps, calls, 0)
	w, h = w+2*pad, h+2*pad
	sw := &svgWriter{base: base}
	sw.b.Grow(512 * (len(o.Steps) + 1))
	sw.b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" class="diagram" role="img" aria-label="` + esc("Diagram of pipeline "+o.Pipeline) + `" width="` + itoa(w) + `" height="` + itoa(h) + `" viewBox="0 0 ` + itoa(w) + " " + itoa(h) + `">`)
	sw.b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z"/></marker></defs>`)
	sw.steps_(o.Steps, pad, pad, calls, 0)
	sw.b.WriteString(`</svg>`)
	return template.HTML(sw.b.String()) // every text in it went through esc
}

func esc(s string) string { return template.HTMLEscapeString(s) }

func itoa(i int) string { return strconv.Itoa(i) }
