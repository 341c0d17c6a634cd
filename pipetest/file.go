package pipetest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// File is a test file (NAME.test.yaml, or any .yaml in a tests folder) as
// written. engine.DecodeFile decodes it, so its problems are reported as a
// pipeline's are: file:line:col: path: what.
type File struct {
	Pipeline string     `yaml:"pipeline" doc:"the pipeline tested: a file relative to this one (orders.yaml), or a pipeline name; default: NAME.yaml for NAME.test.yaml, beside it or, from a tests folder, one folder up"`
	Globals  engine.Raw `yaml:"globals" doc:"globals merged over the pipeline's own for every case"`
	Mocks    []Mock     `yaml:"mocks" doc:"mocks of every case (a case's own mocks come first)"`
	Cases    []Case     `yaml:"cases" required:"true" doc:"the test cases"`
}

// Case is one test case: an input, mocks and what to expect.
type Case struct {
	Name      string     `yaml:"name" required:"true" doc:"the case's name, unique in its file (--run matches it)"`
	Input     engine.Raw `yaml:"input" doc:"the input message; default: {}"`
	InputFile string     `yaml:"input_file" doc:"a JSON or YAML file holding the input message, relative to the test file"`
	Metadata  engine.Raw `yaml:"metadata" doc:"metadata fields of the run (headers, query, consumer, …)"`
	Globals   engine.Raw `yaml:"globals" doc:"globals merged over the file's and the pipeline's for this case"`
	Vars      engine.Raw `yaml:"vars" doc:"initial vars"`
	Mocks     []Mock     `yaml:"mocks" doc:"mocks of this case, tried before the file's"`
	Expect    Expect     `yaml:"expect" required:"true" doc:"what the run must do"`
}

// Mock replaces a step's connector: by step name, or every step of a
// connector whose input satisfies match.
type Mock struct {
	Step      string           `yaml:"step" doc:"the name of the step mocked (its name, or connector#n)"`
	Pipeline  string           `yaml:"pipeline" doc:"the pipeline the step is in, when it is in a called pipeline; default: the tested one"`
	Connector string           `yaml:"connector" doc:"mock every step of this connector (instead of step)"`
	Match     engine.Condition `yaml:"match" doc:"condition over the step's input (message): the mock applies only when it is true"`
	Answer    `yaml:",inline"`
	Results   []Answer      `yaml:"results" doc:"a sequence of answers, one per call; the last one repeats"`
	Request   *RequestCheck `yaml:"request" doc:"HTTP steps (rest, gdrive, onedrive) answered with response: the request the step sends must be this"`
}

// Answer is what a mocked step answers: a result, an error, or (HTTP
// steps) a response its connector reads as the server's; after delay.
type Answer struct {
	Result   engine.Raw      `yaml:"result" doc:"the step's result"`
	Error    *MockError      `yaml:"error" doc:"the step fails with this error"`
	Response *Response       `yaml:"response" doc:"HTTP steps: the server's answer; the connector runs and reads it (status, headers, body)"`
	Pass     bool            `yaml:"pass" doc:"the step answers its input unchanged, as if it had checked it and let it through"`
	Delay    engine.Duration `yaml:"delay" doc:"wait this long before answering (a step timeout shorter than it fails the step with 504)"`
}

// MockError is an error answer.
type MockError struct {
	Code  int    `yaml:"code" default:"500" doc:"the error's code"`
	Error string `yaml:"error" required:"true" doc:"the error's message"`
}

// Response is an HTTP answer.
type Response struct {
	Status  int               `yaml:"status" default:"200" doc:"the status code"`
	Headers map[string]string `yaml:"headers" doc:"response headers"`
	Body    engine.Raw        `yaml:"body" doc:"the body: a string is sent as it is, any other value as JSON"`
}

// RequestCheck is what an HTTP request must be.
type RequestCheck struct {
	Method     string            `yaml:"method" doc:"the method"`
	URL        string            `yaml:"url" doc:"the whole URL, query included"`
	URLMatches string            `yaml:"url_matches" doc:"a regular expression the URL must match"`
	Headers    map[string]string `yaml:"headers" doc:"headers the request must have, with these values"`
	Body       engine.Raw        `yaml:"body" doc:"the JSON body must contain this (a JSON subset); a string must equal the body"`
}

// Expect is what a run must do.
type Expect struct {
	Output         engine.Raw      `yaml:"output" doc:"the final message equals this"`
	OutputFile     string          `yaml:"output_file" doc:"the final message equals the JSON or YAML in this file"`
	OutputContains engine.Raw      `yaml:"output_contains" doc:"the final message contains this (a JSON subset: objects may have more keys)"`
	Error          *ErrorExpect    `yaml:"error" doc:"the run fails with this error"`
	Ran            []string        `yaml:"ran" doc:"steps that ran (by name)"`
	NotRan         []string        `yaml:"not_ran" doc:"steps that did not run"`
	Calls          []CallExpect    `yaml:"calls" doc:"steps called a number of times, with these inputs"`
	Logs           []string        `yaml:"logs" doc:"regular expressions: each matches a line logged (message and fields, as key=value)"`
	Vars           engine.Raw      `yaml:"vars" doc:"the vars at the end contain this (a JSON subset)"`
	MaxDurationMS  int             `yaml:"max_duration_ms" doc:"the run takes at most this many milliseconds"`
	Response       *ResponseExpect `yaml:"response" doc:"the HTTP response the pipeline's respond steps set (status, headers, body)"`
}

// ResponseExpect is the HTTP response a run must set with respond.
type ResponseExpect struct {
	Status       int               `yaml:"status" doc:"the status"`
	Headers      map[string]string `yaml:"headers" doc:"headers the response has, with these values"`
	Body         engine.Raw        `yaml:"body" doc:"the body equals this: JSON compared as values, a string as text"`
	BodyContains engine.Raw        `yaml:"body_contains" doc:"the JSON body contains this (a JSON subset)"`
}

// ErrorExpect is the error a run must end with.
type ErrorExpect struct {
	Code    int    `yaml:"code" doc:"the error's code"`
	Message string `yaml:"message" doc:"a regular expression the error's message matches"`
	Step    string `yaml:"step" doc:"the step that failed"`
}

// CallExpect counts the runs of a step.
type CallExpect struct {
	Step     string       `yaml:"step" required:"true" doc:"the step's name"`
	Pipeline string       `yaml:"pipeline" doc:"its pipeline; default: the tested one"`
	Times    *int         `yaml:"times" doc:"how many times it ran"`
	With     []engine.Raw `yaml:"with" doc:"the inputs of its calls, in order, each a JSON subset"`
}

// Suite is a loaded test file: its pipeline and its cases, checked.
type Suite struct {
	File     string
	Pipeline *engine.Pipeline
	Cases    []*TestCase
	lib      *lazyLib
	closers  []*engine.Pipeline
}

// Close releases the pipelines the suite loaded.
func (s *Suite) Close() {
	for _, p := range s.closers {
		p.Close(context.Background())
	}
}

// TestCase is a checked case, ready to run.
type TestCase struct {
	Name     string
	Line     int
	pipeline *engine.Pipeline
	lib      *lazyLib
	input    any
	metadata *value.Object
	vars     *value.Object
	mocks    []*mock
	expect   *expect
}

// LoadOptions are what LoadFile needs besides the file.
type LoadOptions struct {
	// Library returns the library a tested pipeline calls other
	// pipelines in (nectar test passes nectar run's, which holds the
	// shipped pipelines); default engine.NewLibrary.
	Library func(opts engine.LoadOptions, dirs ...string) *engine.Library
}

// IsTestFile reports whether path is a test file: NAME.test.yaml (.yml),
// or a YAML file in a folder named tests.
func IsTestFile(path string) bool {
	if engine.IsTestFile(path) {
		return true
	}
	ext := filepath.Ext(path)
	return (ext == ".yaml" || ext == ".yml") && filepath.Base(filepath.Dir(path)) == "tests"
}

// Find lists the test files under each path (a file is taken as it is), in
// order, skipping folders that start with . or _ and testdata.
func Find(paths ...string) ([]string, error) {
	var out []string
	for _, root := range paths {
		st, err := os.Stat(root)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, root)
			continue
		}
		walk := root
		if lst, err := os.Lstat(root); err == nil && lst.Mode()&fs.ModeSymlink != 0 {
			walk = root + string(filepath.Separator) // walk the folder a link points to
		}
		err = filepath.WalkDir(walk, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := d.Name()
			if d.IsDir() {
				if path != walk && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata") {
					return filepath.SkipDir
				}
				return nil
			}
			if IsTestFile(path) && !engine.IsGlobalsFile(name) {
				out = append(out, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// LoadFile reads, decodes and checks a test file, and loads the pipeline it
// tests. Every problem is an *engine.LoadError at its place (file:line:col),
// found before anything runs: unknown steps in mocks and expectations, mocks
// of steps that cannot be mocked, expectations that can never be met,
// missing files.
func LoadFile(path string, opts LoadOptions) (*Suite, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f File
	if err := engine.DecodeFile(path, data, &f); err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	c := &checker{file: path, dir: filepath.Dir(path), root: &doc}
	s := c.suite(&f, opts)
	if err := c.err(); err != nil {
		if s != nil {
			s.Close()
		}
		return nil, err
	}
	return s, nil
}

// checker turns a decoded File into a Suite, recording every problem at
// its place.
type checker struct {
	file, dir string
	root      *yaml.Node
	errs      []error
	lib       *lazyLib
}

func (c *checker) failAt(path []any, format string, args ...any) {
	n := engine.NodeAt(c.root, path)
	c.errs = append(c.errs, engine.NodeError(c.file, n, pathString(path), fmt.Errorf(format, args...)))
}

func (c *checker) err() error { return errors.Join(c.errs...) }

func pathString(path []any) string {
	var b strings.Builder
	for _, p := range path {
		switch k := p.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", k)
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(k)
		}
	}
	return b.String()
}

// pipelineFile finds the file of the tested pipeline.
func (c *checker) pipelineFile(f *File) (string, bool) {
	if f.Pipeline != "" {
		if ext := filepath.Ext(f.Pipeline); ext == ".yaml" || ext == ".yml" {
			p := filepath.Join(c.dir, f.Pipeline)
			if _, err := os.Stat(p); err != nil {
				c.failAt([]any{"pipeline"}, "no pipeline file %s", p)
				return "", false
			}
			return p, true
		}
		return "", true // a name: resolved in the library
	}
	base := filepath.Base(c.file)
	stem := strings.TrimSuffix(strings.TrimSuffix(base, filepath.Ext(base)), ".test")
	dirs := []string{c.dir}
	if filepath.Base(c.dir) == "tests" {
		// Every YAML file in a tests folder is a test file.
		dirs = []string{filepath.Dir(c.dir)}
	}
	for _, d := range dirs {
		for _, ext := range []string{".yaml", ".yml"} {
			p := filepath.Join(d, stem+ext)
			if _, err := os.Stat(p); err == nil {
				return p, true
			}
		}
	}
	c.errs = append(c.errs, &engine.LoadError{File: c.file, Line: 1, Col: 1, Err: fmt.Errorf("no pipeline %s.yaml in %s; name the tested pipeline with pipeline:", stem, dirs[0])})
	return "", false
}

func (c *checker) object(r engine.Raw, path []any) *value.Object {
	if !r.IsSet() || r.Value == nil {
		return nil
	}
	o, ok := r.Value.(*value.Object)
	if !ok {
		c.failAt(path, "expected an object, got %s", value.TypeName(r.Value))
	}
	return o
}

func (c *checker) suite(f *File, opts LoadOptions) *Suite {
	newLib := opts.Library
	if newLib == nil {
		newLib = engine.NewLibrary
	}
	pfile, ok := c.pipelineFile(f)
	if !ok {
		return nil
	}
	fileGlobals := c.object(f.Globals, []any{"globals"})
	dir := c.dir
	if pfile != "" {
		dir = filepath.Dir(pfile)
	}
	s := &Suite{File: c.file}
	// The library (the pipelines a tested one calls by name: its folder's
	// and the shipped ones) is made on first use: most tests mock their
	// pipeline steps and never need it.
	load := func(globals *value.Object) (*engine.Pipeline, *lazyLib, error) {
		lo := engine.LoadOptions{Globals: globals}
		dirs := []string{dir}
		if filepath.Base(c.dir) == "tests" && pfile == "" {
			dirs = append(dirs, filepath.Dir(c.dir))
		}
		if pfile == "" {
			lib := &lazyLib{mk: func() *engine.Library { return newLib(lo, dirs...) }}
			p, ok := lib.Pipeline(f.Pipeline)
			if !ok {
				return nil, nil, fmt.Errorf("no pipeline named %q (beside the test file, or shipped)", f.Pipeline)
			}
			return p, lib, nil
		}
		p, err := engine.LoadFile(pfile, lo)
		if err != nil {
			return nil, nil, err
		}
		s.closers = append(s.closers, p)
		lib := &lazyLib{mk: func() *engine.Library {
			l := newLib(lo, dirs...)
			l.Add(p)
			return l
		}}
		return p, lib, nil
	}
	p, lib, err := load(fileGlobals)
	if err != nil {
		if len(engine.LoadErrors(err)) > 0 {
			c.errs = append(c.errs, err)
		} else {
			c.failAt([]any{"pipeline"}, "%v", err)
		}
		return s
	}
	s.Pipeline, s.lib, c.lib = p, lib, lib
	known := stepIndex(p)
	fileMocks := make([]*mock, 0, len(f.Mocks))
	for i := range f.Mocks {
		if m := c.mock(&f.Mocks[i], []any{"mocks", i}, p, known); m != nil {
			fileMocks = append(fileMocks, m)
		}
	}
	if len(f.Cases) == 0 {
		c.failAt([]any{"cases"}, "expected at least one case")
	}
	names := map[string]bool{}
	for i := range f.Cases {
		cs := &f.Cases[i]
		path := []any{"cases", i}
		if names[cs.Name] {
			c.failAt(append(path, "name"), "a case named %q is already in this file", cs.Name)
		}
		names[cs.Name] = true
		tc := &TestCase{Name: cs.Name, Line: engine.NodeAt(c.root, path).Line, pipeline: p, lib: lib}
		if g := c.object(cs.Globals, append(path, "globals")); g != nil {
			merged := value.NewObject(0)
			fileGlobals.Range(func(k string, v any) bool { merged.Set(k, v); return true })
			g.Range(func(k string, v any) bool { merged.Set(k, v); return true })
			cp, clib, err := load(merged)
			if err != nil {
				c.failAt(append(path, "globals"), "the pipeline does not load with these globals: %v", err)
				continue
			}
			tc.pipeline, tc.lib = cp, clib
		}
		tc.input = c.input(cs, path)
		tc.metadata = c.object(cs.Metadata, append(path, "metadata"))
		tc.vars = c.object(cs.Vars, append(path, "vars"))
		for j := range cs.Mocks {
			if m := c.mock(&cs.Mocks[j], append(path, "mocks", j), p, known); m != nil {
				tc.mocks = append(tc.mocks, m)
			}
		}
		tc.mocks = append(tc.mocks, fileMocks...)
		tc.expect = c.expect(&cs.Expect, append(path, "expect"), p, known, tc.mocks)
		s.Cases = append(s.Cases, tc)
	}
	return s
}

func (c *checker) input(cs *Case, path []any) any {
	switch {
	case cs.Input.IsSet() && cs.InputFile != "":
		c.failAt(append(path, "input_file"), "expected input or input_file, not both")
	case cs.InputFile != "":
		v, ok := c.readValue(cs.InputFile, append(path, "input_file"))
		if ok {
			return v
		}
	case cs.Input.IsSet():
		return cs.Input.Value
	}
	return value.NewObject(0)
}

// readValue reads a JSON or YAML file relative to the test file.
func (c *checker) readValue(name string, path []any) (any, bool) {
	p := filepath.Join(c.dir, name)
	data, err := os.ReadFile(p)
	if err != nil {
		c.failAt(path, "cannot read %s: %v", p, errors.Unwrap(err))
		return nil, false
	}
	v, err := engine.ParseYAML(data)
	if err != nil {
		c.failAt(path, "%s: %v", p, err)
		return nil, false
	}
	return v, true
}

// stepKey names a step of a pipeline.
type stepKey struct{ pipeline, step string }

// stepIndex lists the steps of p, with whether each holds nested steps
// (those cannot be mocked: their own steps can).
func stepIndex(p *engine.Pipeline) map[stepKey]*stepMeta {
	idx := map[stepKey]*stepMeta{}
	for _, b := range blocks(p) {
		for _, st := range b.steps {
			idx[stepKey{p.Name, st.Step}] = &stepMeta{connector: st.Connector, path: st.Path, container: len(st.Blocks) > 0}
		}
	}
	return idx
}

// block is a list of steps of a pipeline: its top-level steps, or the
// nested steps of one step (a choice arm, a try's catch, a loop body).
type block struct {
	path  string // where it is in the file: steps, steps[1].choice[0].steps
	steps []engine.OutlineStep
}

// blocks flattens p's outline (engine.Pipeline.Outline) into its blocks,
// each parent before its children.
func blocks(p *engine.Pipeline) []block {
	var out []block
	var walk func(path string, steps []engine.OutlineStep)
	walk = func(path string, steps []engine.OutlineStep) {
		out = append(out, block{path: path, steps: steps})
		for _, st := range steps {
			for _, b := range st.Blocks {
				walk(st.Path+"."+b.Label, b.Steps)
			}
		}
	}
	walk("steps", p.Outline().Steps)
	return out
}

// lazyLib is a library made on first use. It is an engine.Resolver.
type lazyLib struct {
	once sync.Once
	mk   func() *engine.Library
	lib  *engine.Library
}

func (l *lazyLib) get() *engine.Library {
	l.once.Do(func() { l.lib = l.mk() })
	return l.lib
}

// Pipeline finds a pipeline by name in the library.
func (l *lazyLib) Pipeline(name string) (*engine.Pipeline, bool) { return l.get().Pipeline(name) }

// made returns the library if it was made, else nil. Call it only once the
// runs that may make it are over.
func (l *lazyLib) made() *engine.Library { return l.lib }

type stepMeta struct {
	connector string
	path      string
	container bool
}

// httpConnectors are the connectors whose requests go through
// connectors/httpclient: a mock may answer them with response.
var httpConnectors = []string{"rest", "gdrive", "onedrive"}

func (c *checker) stepRef(pipeline, step string, p *engine.Pipeline, known map[stepKey]*stepMeta, path []any) (*stepMeta, string) {
	if pipeline == "" {
		pipeline = p.Name
	}
	m, ok := known[stepKey{pipeline, step}]
	if !ok && c.lib != nil && pipeline != p.Name {
		// A called pipeline the library has not loaded yet.
		if q, found := c.lib.Pipeline(pipeline); found {
			for k, v := range stepIndex(q) {
				known[k] = v
			}
			m, ok = known[stepKey{pipeline, step}]
		}
	}
	if !ok {
		var names []string
		for k := range known {
			if k.pipeline == pipeline {
				names = append(names, k.step)
			}
		}
		slices.Sort(names)
		if len(names) == 0 {
			c.failAt(path, "no pipeline %q among the tested one and those loaded with it", pipeline)
		} else {
			c.failAt(path, "no step %q in pipeline %s (steps: %s)", step, pipeline, strings.Join(names, ", "))
		}
		return nil, pipeline
	}
	return m, pipeline
}

func (c *checker) mock(m *Mock, path []any, p *engine.Pipeline, known map[stepKey]*stepMeta) *mock {
	out := &mock{where: fmt.Sprintf("%s:%d", c.file, engine.NodeAt(c.root, path).Line), match: m.Match}
	var connector string
	switch {
	case m.Step != "" && m.Connector != "":
		c.failAt(append(path, "connector"), "expected step or connector, not both")
		return nil
	case m.Step != "":
		meta, pl := c.stepRef(m.Pipeline, m.Step, p, known, append(path, "step"))
		if meta == nil {
			return nil
		}
		if meta.container {
			c.failAt(append(path, "step"), "step %q is a %s step, whose nested steps run: mock those instead", m.Step, meta.connector)
			return nil
		}
		out.pipeline, out.step, connector = pl, m.Step, meta.connector
	case m.Connector != "":
		found := false
		for _, ci := range engine.Connectors() {
			found = found || ci.Name == m.Connector
		}
		if !found {
			c.failAt(append(path, "connector"), "no connector %q", m.Connector)
			return nil
		}
		for _, meta := range known {
			if meta.connector == m.Connector && meta.container {
				c.failAt(append(path, "connector"), "%s steps hold nested steps and cannot be mocked: mock those instead", m.Connector)
				return nil
			}
		}
		out.pipeline, out.connector, connector = m.Pipeline, m.Connector, m.Connector
	default:
		c.failAt(path, "a mock needs step (a step's name) or connector")
		return nil
	}
	answers := m.Results
	if m.Result.IsSet() || m.Error != nil || m.Response != nil || m.Pass {
		if len(answers) > 0 {
			c.failAt(append(path, "results"), "expected one answer (result, error, response or pass) or results, not both")
			return nil
		}
		answers = []Answer{m.Answer}
	} else if m.Delay > 0 && len(answers) == 0 {
		c.failAt(path, "delay needs an answer after it: result, error, response or pass")
		return nil
	}
	if len(answers) == 0 {
		c.failAt(path, "a mock needs an answer: result, error, response, pass or results")
		return nil
	}
	isHTTP := slices.Contains(httpConnectors, connector)
	for i, a := range answers {
		ap := path
		if len(m.Results) > 0 {
			ap = append(append([]any{}, path...), "results", i)
		}
		n := 0
		for _, set := range []bool{a.Result.IsSet(), a.Error != nil, a.Response != nil, a.Pass} {
			if set {
				n++
			}
		}
		if n != 1 {
			c.failAt(ap, "expected exactly one of result, error, response and pass")
			return nil
		}
		if a.Response != nil && !isHTTP {
			c.failAt(append(ap, "response"), "response answers HTTP requests (%s steps); this is a %s step: answer with result", strings.Join(httpConnectors, ", "), connector)
			return nil
		}
		ans := answer{delay: a.Delay.D(), pass: a.Pass}
		switch {
		case a.Pass:
		case a.Result.IsSet():
			ans.result, ans.hasResult = a.Result.Value, true
		case a.Error != nil:
			ans.err = a.Error
		default:
			ans.response = a.Response
			out.http = true
		}
		out.answers = append(out.answers, ans)
	}
	for _, a := range out.answers {
		if (a.response != nil) != out.http {
			c.failAt(path, "a mock answers with responses (the connector runs) or with results and errors, not both")
			return nil
		}
	}
	if m.Request != nil {
		if !out.http {
			c.failAt(append(path, "request"), "request is checked when the step runs and sends it: answer with response, not result or error")
			return nil
		}
		rc := &requestCheck{RequestCheck: m.Request}
		if m.Request.URLMatches != "" {
			re, err := regexp.Compile(m.Request.URLMatches)
			if err != nil {
				c.failAt(append(path, "request", "url_matches"), "%v", err)
				return nil
			}
			rc.urlRE = re
		}
		out.request = rc
	}
	return out
}

func (c *checker) expect(e *Expect, path []any, p *engine.Pipeline, known map[stepKey]*stepMeta, mocks []*mock) *expect {
	x := &expect{maxDuration: time.Duration(e.MaxDurationMS) * time.Millisecond, logs: nil}
	outputs := 0
	if e.Output.IsSet() {
		x.output, x.hasOutput = e.Output.Value, true
		outputs++
	}
	if e.OutputFile != "" {
		if v, ok := c.readValue(e.OutputFile, append(path, "output_file")); ok {
			x.output, x.hasOutput = v, true
		}
		outputs++
	}
	if outputs > 1 {
		c.failAt(append(path, "output_file"), "expected output or output_file, not both")
	}
	if e.OutputContains.IsSet() {
		x.contains, x.hasContains = e.OutputContains.Value, true
	}
	if e.Error != nil {
		if outputs > 0 || x.hasContains {
			c.failAt(append(path, "error"), "a run that fails has no output: expect error or an output, not both")
		}
		x.err = e.Error
		if e.Error.Message != "" {
			re, err := regexp.Compile(e.Error.Message)
			if err != nil {
				c.failAt(append(path, "error", "message"), "%v", err)
			}
			x.errRE = re
		}
		if e.Error.Step != "" {
			c.stepRef("", e.Error.Step, p, known, append(path, "error", "step"))
		}
	}
	for i, s := range e.Ran {
		if _, pl := c.stepRef("", s, p, known, append(path, "ran", i)); pl != "" {
			x.ran = append(x.ran, stepKey{pl, s})
		}
		if slices.Contains(e.NotRan, s) {
			c.failAt(append(path, "ran", i), "step %q is in both ran and not_ran", s)
		}
	}
	for i, s := range e.NotRan {
		if _, pl := c.stepRef("", s, p, known, append(path, "not_ran", i)); pl != "" {
			x.notRan = append(x.notRan, stepKey{pl, s})
		}
	}
	for i, ce := range e.Calls {
		cp := append(path, "calls", i)
		_, pl := c.stepRef(ce.Pipeline, ce.Step, p, known, append(cp, "step"))
		if ce.Times == nil && len(ce.With) == 0 {
			c.failAt(cp, "expected times or with")
		}
		if ce.Times != nil && *ce.Times < len(ce.With) {
			c.failAt(append(cp, "with"), "%d inputs listed for %d calls", len(ce.With), *ce.Times)
		}
		if ce.Times != nil && *ce.Times < 0 {
			c.failAt(append(cp, "times"), "expected a number of calls, 0 or more")
		}
		cc := callCheck{key: stepKey{pl, ce.Step}, times: -1}
		if ce.Times != nil {
			cc.times = *ce.Times
		}
		for _, w := range ce.With {
			cc.with = append(cc.with, w.Value)
		}
		x.calls = append(x.calls, cc)
	}
	for i, l := range e.Logs {
		re, err := regexp.Compile(l)
		if err != nil {
			c.failAt(append(path, "logs", i), "%v", err)
			continue
		}
		x.logs = append(x.logs, re)
	}
	if e.Vars.IsSet() {
		x.vars = c.object(e.Vars, append(path, "vars"))
		x.hasVars = true
	}
	if e.Response != nil {
		x.response = e.Response
		if e.Response.Status == 0 && len(e.Response.Headers) == 0 && !e.Response.Body.IsSet() && !e.Response.BodyContains.IsSet() {
			c.failAt(append(path, "response"), "expected status, headers, body or body_contains")
		}
	}
	if e.MaxDurationMS < 0 {
		c.failAt(append(path, "max_duration_ms"), "expected a number of milliseconds, 0 or more")
	}
	if !x.hasOutput && !x.hasContains && x.err == nil && len(x.ran)+len(x.notRan)+len(x.calls)+len(x.logs) == 0 && !x.hasVars && x.maxDuration == 0 && x.response == nil && len(e.Ran)+len(e.NotRan)+len(e.Calls) == 0 {
		c.failAt(path, "nothing expected: give output, output_contains, error, ran, not_ran, calls, logs, vars or max_duration_ms")
	}
	return x
}
