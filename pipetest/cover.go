package pipetest

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/nectar-run/nectar/engine"
)

// Coverage says which steps and branches of each tested pipeline (and of
// the pipelines they called for real) the cases reached.
type Coverage struct {
	Pipelines []PipelineCoverage `json:"pipelines"`
	Covered   int                `json:"covered"`
	Total     int                `json:"total"`
	Percent   float64            `json:"percent"`
}

// PipelineCoverage is the coverage of one pipeline. A step is covered when
// it ran. Branches are the nested lists of steps (choice arms, try's steps
// and catch, loop bodies…), covered when one of their steps was reached;
// a step's if, whose false branch is covered when the step was skipped; and
// a step's retry, covered when the step ran more than once.
type PipelineCoverage struct {
	Pipeline        string   `json:"pipeline"`
	File            string   `json:"file"`
	Steps           int      `json:"steps"`
	StepsCovered    int      `json:"steps_covered"`
	Branches        int      `json:"branches"`
	BranchesCovered int      `json:"branches_covered"`
	Percent         float64  `json:"percent"`
	Missed          []string `json:"missed,omitempty"`
}

type hit struct{ ran, skipped, retried bool }

// collector gathers the traces of the cases.
type collector struct {
	mu       sync.Mutex
	outlines map[string]*engine.Pipeline
	tested   map[string]bool
	libs     []*lazyLib
	hits     map[string]map[string]*hit // pipeline → step path → hit
}

func newCollector(suites []*Suite) *collector {
	c := &collector{outlines: map[string]*engine.Pipeline{}, tested: map[string]bool{}, hits: map[string]map[string]*hit{}}
	for _, s := range suites {
		c.outlines[s.Pipeline.Name] = s.Pipeline
		c.tested[s.Pipeline.Name] = true
		c.libs = append(c.libs, s.lib)
		for _, tc := range s.Cases {
			c.libs = append(c.libs, tc.lib)
		}
	}
	return c
}

func (c *collector) add(t *engine.Trace) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rec := range t.Steps {
		m := c.hits[rec.Pipeline]
		if m == nil {
			m = map[string]*hit{}
			c.hits[rec.Pipeline] = m
		}
		h := m[rec.Path]
		if h == nil {
			h = &hit{}
			m[rec.Path] = h
		}
		if rec.Outcome == "skipped" {
			h.skipped = true
		} else {
			h.ran = true
		}
		if rec.Attempts > 1 {
			h.retried = true
		}
	}
}

func (c *collector) report() *Coverage {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Pipelines called for real were found in a library the runs made.
	for n := range c.hits {
		if _, ok := c.outlines[n]; ok {
			continue
		}
		for _, l := range c.libs {
			if lib := l.made(); lib != nil {
				if p, ok := lib.Pipeline(n); ok {
					c.outlines[n] = p
					break
				}
			}
		}
	}
	var names []string
	for n := range c.outlines {
		if c.tested[n] || c.hits[n] != nil {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	cov := &Coverage{}
	for _, n := range names {
		pc := pipelineCoverage(c.outlines[n], c.hits[n])
		cov.Covered += pc.StepsCovered + pc.BranchesCovered
		cov.Total += pc.Steps + pc.Branches
		cov.Pipelines = append(cov.Pipelines, pc)
	}
	cov.Percent = percent(cov.Covered, cov.Total)
	return cov
}

func percent(n, total int) float64 {
	if total == 0 {
		return 100
	}
	return float64(n) * 100 / float64(total)
}

func pipelineCoverage(p *engine.Pipeline, hits map[string]*hit) PipelineCoverage {
	pc := PipelineCoverage{Pipeline: p.Name, File: p.File}
	get := func(path string) hit {
		if h := hits[path]; h != nil {
			return *h
		}
		return hit{}
	}
	// branch counts one branch, covered or missed (what says which).
	branch := func(covered bool, what string) {
		pc.Branches++
		if covered {
			pc.BranchesCovered++
		} else {
			pc.Missed = append(pc.Missed, what)
		}
	}
	for _, b := range blocks(p) {
		if b.path != "steps" {
			reached := false
			for _, st := range b.steps {
				h := get(st.Path)
				reached = reached || h.ran || h.skipped
			}
			branch(reached, "branch "+b.path)
		}
		for _, st := range b.steps {
			h := get(st.Path)
			pc.Steps++
			if h.ran {
				pc.StepsCovered++
			} else {
				pc.Missed = append(pc.Missed, fmt.Sprintf("step %s (%s)", st.Step, st.Path))
			}
			if st.Condition != "" {
				branch(h.skipped, fmt.Sprintf("if false: step %s skipped (%s.if)", st.Step, st.Path))
			}
			if st.Retries > 1 {
				branch(h.retried, fmt.Sprintf("retry: step %s run again (%s.retry)", st.Step, st.Path))
			}
		}
	}
	pc.Percent = percent(pc.StepsCovered+pc.BranchesCovered, pc.Steps+pc.Branches)
	return pc
}

// WriteTable writes the coverage as a table, one pipeline a row, with what
// no case reached under each, and the total.
func (c *Coverage) WriteTable(w io.Writer) {
	width := len("pipeline")
	for _, p := range c.Pipelines {
		width = max(width, len(p.Pipeline))
	}
	fmt.Fprintf(w, "%-*s  %9s  %9s  %6s\n", width, "pipeline", "steps", "branches", "cover")
	for _, p := range c.Pipelines {
		fmt.Fprintf(w, "%-*s  %9s  %9s  %5.1f%%\n", width, p.Pipeline, fmt.Sprintf("%d/%d", p.StepsCovered, p.Steps), fmt.Sprintf("%d/%d", p.BranchesCovered, p.Branches), p.Percent)
		for _, m := range p.Missed {
			fmt.Fprintf(w, "%-*s    not reached: %s\n", width, "", m)
		}
	}
	fmt.Fprintf(w, "%s\n%-*s  %20s  %5.1f%%\n", strings.Repeat("-", width+34), width, "total", fmt.Sprintf("%d/%d", c.Covered, c.Total), c.Percent)
}
