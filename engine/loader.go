package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/nectar-run/nectar/engine/expression"
	"github.com/nectar-run/nectar/engine/value"
)

// LoadOptions change how a pipeline file is loaded.
type LoadOptions struct {
	// Globals are merged over the pipeline's own globals (a --globals file of
	// one environment).
	Globals *value.Object
}

// LoadFile reads and compiles a pipeline file.
func LoadFile(path string, opts LoadOptions) (*Pipeline, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Load(path, data, opts)
}

// MaxFileSize is the largest pipeline file Load accepts.
const MaxFileSize = 8 << 20

// Load compiles a pipeline from YAML. file names it in errors and is the base
// for files the pipeline refers to. Every problem of the file is reported
// together; a pipeline with any problem is not returned.
func Load(file string, data []byte, opts LoadOptions) (p *Pipeline, err error) {
	l := &loader{file: file, dir: filepath.Dir(file), src: data, errs: new([]*LoadError), opts: opts}
	defer func() {
		// A connector's compile function must not take the process down.
		if r := recover(); r != nil {
			p, err = nil, &LoadError{File: file, Err: fmt.Errorf("internal error while loading: %v", r)}
		}
	}()
	if len(data) > MaxFileSize {
		return nil, &LoadError{File: file, Err: fmt.Errorf("file is larger than %d bytes", MaxFileSize)}
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, yamlError(file, err)
	}
	var extra yaml.Node
	if dec.Decode(&extra) == nil {
		return nil, &LoadError{File: file, Line: extra.Line, Col: extra.Column, Err: errors.New("a pipeline file holds one YAML document; found a second one")}
	}
	p = l.pipeline(&doc, opts)
	if err := joinSorted(*l.errs); err != nil {
		p.Close(context.Background())
		return nil, err
	}
	return p, nil
}

// yamlError turns a yaml.v3 syntax error ("yaml: line 3: …") into a LoadError.
// yaml.v3 counts lines from 1 for scanner errors but from 0 for parser
// errors, and leaves the line out on the first line; this evens that out.
func yamlError(file string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if strings.HasPrefix(msg, "line ") {
		if _, scanErr := fmt.Sscanf(msg, "line %d:", &line); scanErr == nil {
			if i := strings.Index(msg, ":"); i >= 0 {
				msg = strings.TrimSpace(msg[i+1:])
			}
			for _, p := range parserErrors {
				if msg == p {
					line++
					break
				}
			}
		}
	}
	return &LoadError{File: file, Line: line, Col: 1, Err: errors.New(msg)}
}

var parserErrors = []string{
	"did not find expected <document start>", "did not find expected node content",
	"did not find expected key", "did not find expected '-' indicator",
	"did not find expected ',' or ']'", "did not find expected ',' or '}'",
}

type loader struct {
	file    string
	dir     string
	src     []byte
	lines   []string
	errs    *[]*LoadError
	name    string
	globals *value.Object
	opts    LoadOptions // as given to Load, for the pipelines a step loads in turn
	closers []Closer
	count   int // steps compiled, to name unnamed steps
}

func (l *loader) fail(n *yaml.Node, path string, err error) {
	*l.errs = append(*l.errs, l.errorAt(n, path, err))
}

// errorAt positions err at node n. Errors that carry an offset inside the
// node's string point at that character.
func (l *loader) errorAt(n *yaml.Node, path string, err error) *LoadError {
	var le *LoadError
	if errors.As(err, &le) {
		return le
	}
	line, col := 0, 0
	if n != nil {
		line, col = n.Line, n.Column
		var ee *expression.Error
		var oe *OffsetError
		switch {
		case errors.As(err, &ee) && n.Kind == yaml.ScalarNode:
			line, col = l.offsetPosition(n, ee.Offset)
			err = errors.New(ee.Msg)
		case errors.As(err, &oe) && n.Kind == yaml.ScalarNode:
			line, col = l.offsetPosition(n, oe.Offset)
			err = oe.Err
		}
	}
	return &LoadError{File: l.file, Path: path, Line: line, Col: col, Err: err}
}

// offsetPosition maps a byte offset inside a scalar's value to a line and
// column of the file.
func (l *loader) offsetPosition(n *yaml.Node, offset int) (int, int) {
	if offset > len(n.Value) {
		offset = len(n.Value)
	}
	before := n.Value[:offset]
	switch n.Style {
	case yaml.LiteralStyle, yaml.FoldedStyle:
		// A block scalar's text starts on the line after the indicator.
		nl := strings.Count(before, "\n")
		line := n.Line + 1 + nl
		lineStart := strings.LastIndex(before, "\n") + 1
		return line, l.indentOf(line) + 1 + len([]rune(before[lineStart:]))
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		if !strings.Contains(before, "\n") {
			return n.Line, n.Column + 1 + len([]rune(before))
		}
	default:
		if !strings.Contains(before, "\n") {
			return n.Line, n.Column + len([]rune(before))
		}
	}
	return n.Line, n.Column
}

func (l *loader) indentOf(line int) int {
	if l.lines == nil {
		l.lines = strings.Split(string(l.src), "\n")
	}
	if line-1 < 0 || line-1 >= len(l.lines) {
		return 0
	}
	s := l.lines[line-1]
	return len(s) - len(strings.TrimLeft(s, " "))
}

var topLevelKeys = []string{"name", "description", "globals", "trigger", "steps", "sensitive_fields", "timeout"}

func (l *loader) pipeline(doc *yaml.Node, opts LoadOptions) *Pipeline {
	p := &Pipeline{File: l.file, Globals: value.NewObject(0)}
	if len(doc.Content) == 0 {
		l.fail(doc, "", errors.New("empty file: a pipeline needs a name and steps"))
		return p
	}
	root := resolveAlias(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		l.fail(root, "", fmt.Errorf("expected an object with %s, got %s", strings.Join(topLevelKeys[:5], ", "), kindName(root)))
		return p
	}
	fields := map[string]*yaml.Node{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if _, dup := fields[k.Value]; dup {
			l.fail(k, k.Value, errors.New("duplicate key"))
			continue
		}
		if !contains(topLevelKeys, k.Value) {
			l.fail(k, k.Value, unknownError("key", k.Value, topLevelKeys))
			continue
		}
		fields[k.Value] = v
	}
	if n, ok := fields["name"]; ok {
		if n.Kind != yaml.ScalarNode || n.Value == "" {
			l.fail(n, "name", errors.New("expected a non-empty string"))
		} else if err := checkName(n.Value); err != nil {
			l.fail(n, "name", err)
		}
		p.Name = n.Value
		p.nameBox = p.Name
	} else {
		l.fail(root, "", errors.New("missing required key \"name\""))
	}
	l.name = p.Name
	if n, ok := fields["description"]; ok {
		p.Description = n.Value
	}
	if n, ok := fields["globals"]; ok {
		v, err := nodeValue(n)
		o, isObj := v.(*value.Object)
		switch {
		case err != nil:
			l.fail(n, "globals", err)
		case v != nil && !isObj:
			l.fail(n, "globals", fmt.Errorf("expected an object, got %s", kindName(n)))
		case isObj:
			p.Globals = o
		}
	}
	if opts.Globals != nil {
		merged := p.Globals.Clone()
		opts.Globals.Range(func(k string, v any) bool { merged.Set(k, v); return true })
		p.Globals = merged
	}
	l.globals = p.Globals
	if n, ok := fields["sensitive_fields"]; ok {
		cc := &Compiler{l: l, path: "sensitive_fields", node: n}
		cc.decodeInto(n, reflect.ValueOf(&p.SensitiveFields).Elem(), "sensitive_fields")
	}
	if n, ok := fields["timeout"]; ok {
		var d Duration
		cc := &Compiler{l: l, path: "timeout", node: n}
		cc.decodeInto(n, reflect.ValueOf(&d).Elem(), "timeout")
		p.Timeout = d.D()
	}
	if n, ok := fields["trigger"]; ok {
		p.Trigger = l.trigger(n)
	}
	if n, ok := fields["steps"]; ok {
		if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
			l.fail(n, "steps", errors.New("expected a non-empty list of steps"))
		} else {
			p.steps = l.steps(n, "steps")
		}
	} else {
		l.fail(root, "", errors.New("missing required key \"steps\""))
	}
	p.closers = l.closers
	return p
}

func checkName(s string) error {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("a pipeline name may hold letters, digits, '-', '_' and '.', not %q", r)
		}
	}
	return nil
}

// stepCommon declares the options every step accepts next to its connector
// key, for the registry, the schema and the docs; stepOption decodes each
// into the type declared here.
type stepCommon struct {
	Name        string      `yaml:"name" doc:"a name for the step, shown in errors, logs and traces"`
	Description string      `yaml:"description" doc:"free text for readers"`
	If          Condition   `yaml:"if" doc:"condition: the step runs only when it is true"`
	From        Expr        `yaml:"from" doc:"expression: the step's input instead of the whole message"`
	To          string      `yaml:"to" pattern:"^\\s*(vars(\\.[^.]+)+|message(\\.[^.]+)*)\\s*$" doc:"where the result goes: vars.NAME, or message.PATH to set it inside the message; default: it replaces the message"`
	OnError     string      `yaml:"on_error" enum:"fail,continue" doc:"fail (default) or continue: continue makes the error object the step's result"`
	Retry       RetryPolicy `yaml:"retry" doc:"run the step again on failure"`
	Timeout     Duration    `yaml:"timeout" doc:"duration: the step fails with code 504 when it runs longer"`
}

var stepCommonType = reflect.TypeFor[stepCommon]()

// stepOptions are the keys every step accepts next to its connector key,
// with their docs.
var stepOptions = func() map[string]string {
	m := map[string]string{}
	for _, f := range structFields(stepCommonType) {
		m[f.name] = f.doc
	}
	return m
}()

func stepOptionNames() []string {
	names := make([]string, 0, len(stepOptions))
	for k := range stepOptions {
		names = append(names, k)
	}
	return names
}

func (l *loader) steps(seq *yaml.Node, path string) Steps {
	var s Steps
	for i, n := range seq.Content {
		if r := l.step(resolveAlias(n), fmt.Sprintf("%s[%d]", path, i)); r != nil {
			s.list = append(s.list, r)
		}
	}
	return s
}

func (l *loader) step(n *yaml.Node, path string) *stepRunner {
	if n.Kind != yaml.MappingNode {
		l.fail(n, path, fmt.Errorf("expected a step (an object with one connector key), got %s", kindName(n)))
		return nil
	}
	l.count++
	r := &stepRunner{info: StepInfo{Pipeline: l.name, Path: path}}
	var connKey, connVal *yaml.Node
	seen := map[string]bool{}
	bad := false
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			l.fail(k, path+"."+k.Value, errors.New("duplicate key"))
			bad = true
			continue
		}
		seen[k.Value] = true
		if _, isOpt := stepOptions[k.Value]; isOpt {
			if !l.stepOption(r, k.Value, v, path) {
				bad = true
			}
			continue
		}
		if _, ok := connectorRegistry.get(k.Value); !ok {
			known := append(connectorRegistry.names(), stepOptionNames()...)
			l.fail(k, path+"."+k.Value, unknownError("connector", k.Value, known))
			bad = true
			continue
		}
		if connKey != nil {
			l.fail(k, path+"."+k.Value, fmt.Errorf("a step has exactly one connector; this one already has %q", connKey.Value))
			bad = true
			continue
		}
		connKey, connVal = k, v
	}
	if connKey == nil {
		if !bad {
			l.fail(n, path, fmt.Errorf("a step needs a connector key (one of %s)", strings.Join(connectorRegistry.names(), ", ")))
		}
		return nil
	}
	r.info.Connector = connKey.Value
	if r.info.Step == "" {
		r.info.Step = fmt.Sprintf("%s#%d", connKey.Value, l.count)
	}
	def, _ := connectorRegistry.get(connKey.Value)
	cpath := path + "." + connKey.Value
	connVal = resolveAlias(connVal)
	cc := &Compiler{l: l, path: cpath, node: connVal, fields: map[string]*yaml.Node{}}
	if connVal.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(connVal.Content); i += 2 {
			cc.fields[connVal.Content[i].Value] = connVal.Content[i+1]
		}
	}
	// A connector without options may be written `- sort:` or `- sort: {}`.
	if connVal.Kind == yaml.ScalarNode && connVal.Tag == "!!null" && def.configType().Kind() == reflect.Struct {
		connVal = &yaml.Node{Kind: yaml.MappingNode, Line: connVal.Line, Column: connVal.Column}
	}
	before := len(*l.errs)
	st, err := def.compile(connVal, cc)
	if err != nil {
		cc.addErr(err)
	}
	if len(*l.errs) > before || st == nil || bad {
		if c, ok := st.(Closer); ok {
			c.Close(context.Background())
		}
		if st == nil && len(*l.errs) == before && !bad {
			l.fail(connVal, cpath, errors.New("connector compiled to nothing"))
		}
		return nil
	}
	if c, ok := st.(Closer); ok {
		l.closers = append(l.closers, c)
	}
	r.step = st
	return r
}

func (l *loader) stepOption(r *stepRunner, key string, v *yaml.Node, path string) bool {
	before := len(*l.errs)
	p := path + "." + key
	cc := &Compiler{l: l, path: path, node: v}
	switch key {
	case "name":
		cc.decodeInto(v, reflect.ValueOf(&r.info.Step).Elem(), p)
	case "description":
		var s string
		cc.decodeInto(v, reflect.ValueOf(&s).Elem(), p)
	case "if":
		var c Condition
		cc.decodeInto(v, reflect.ValueOf(&c).Elem(), p)
		r.cond = c.e
	case "from":
		var e Expr
		cc.decodeInto(v, reflect.ValueOf(&e).Elem(), p)
		r.from = e.e
	case "to":
		var s string
		cc.decodeInto(v, reflect.ValueOf(&s).Elem(), p)
		if t, err := parseTarget(s); err != nil {
			l.fail(v, p, err)
		} else {
			r.to = t
		}
	case "on_error":
		var s string
		cc.decodeInto(v, reflect.ValueOf(&s).Elem(), p)
		switch s {
		case "fail", "":
		case "continue":
			r.continueOnError = true
		default:
			l.fail(v, p, fmt.Errorf("expected fail or continue, got %q", s))
		}
	case "retry":
		var rp RetryPolicy
		cc.decodeInto(v, reflect.ValueOf(&rp).Elem(), p)
		if rp.Attempts < 1 {
			rp.Attempts = 1
		}
		r.retry = &rp
	case "timeout":
		var d Duration
		cc.decodeInto(v, reflect.ValueOf(&d).Elem(), p)
		r.timeout = d.D()
	}
	return len(*l.errs) == before
}

// RetryPolicy is a step's retry option.
type RetryPolicy struct {
	Attempts   int      `yaml:"attempts" default:"3" doc:"runs in all, the first one included"`
	Backoff    Duration `yaml:"backoff" default:"500ms" doc:"wait before the second run; doubles each time"`
	MaxBackoff Duration `yaml:"max_backoff" default:"30s" doc:"the longest wait between runs"`
	Codes      []int    `yaml:"codes" doc:"retry only errors with these codes; default: every error"`
}

func (rp *RetryPolicy) retries(e *Error) bool {
	if len(rp.Codes) == 0 {
		return true
	}
	for _, c := range rp.Codes {
		if c == e.Code {
			return true
		}
	}
	return false
}

func (rp *RetryPolicy) wait(attempt int) time.Duration {
	d := rp.Backoff.D()
	for i := 1; i < attempt; i++ {
		d *= 2
		if d >= rp.MaxBackoff.D() {
			return rp.MaxBackoff.D()
		}
	}
	return d
}

// dynamic compiles a JSON template node.
func (l *loader) dynamic(n *yaml.Node, path string, allowAccount bool) dynNode {
	n = resolveAlias(n)
	switch n.Kind {
	case yaml.MappingNode:
		on := &objNode{}
		allConst := true
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			kn, v := n.Content[i], n.Content[i+1]
			k, err := mappingKey(kn)
			if err != nil {
				at := path
				if resolveAlias(kn).Kind == yaml.ScalarNode {
					at += "." + kn.Value // the << member
				}
				l.fail(kn, at, err)
				continue
			}
			if seen[k] {
				l.fail(kn, path+"."+k, errors.New("duplicate key"))
				continue
			}
			seen[k] = true
			c := l.dynamic(v, path+"."+k, allowAccount)
			if c == nil {
				c = constNode{}
			}
			if _, ok := c.(constNode); !ok {
				allConst = false
			}
			on.keys = append(on.keys, k)
			on.nodes = append(on.nodes, c)
		}
		if allConst {
			o := value.NewObject(len(on.keys))
			for i, k := range on.keys {
				o.Set(k, on.nodes[i].(constNode).v)
			}
			return constNode{o}
		}
		return on
	case yaml.SequenceNode:
		ln := &listNode{}
		allConst := true
		for i, c := range n.Content {
			d := l.dynamic(c, fmt.Sprintf("%s[%d]", path, i), allowAccount)
			if d == nil {
				d = constNode{}
			}
			if _, ok := d.(constNode); !ok {
				allConst = false
			}
			ln.nodes = append(ln.nodes, d)
		}
		if allConst {
			out := make([]any, len(ln.nodes))
			for i, d := range ln.nodes {
				out[i] = d.(constNode).v
			}
			return constNode{out}
		}
		return ln
	case yaml.ScalarNode:
		if n.ShortTag() == "!!str" && expression.HasExpressions(n.Value) {
			t, err := expression.CompileTemplate(n.Value, expression.Options{AllowAccount: allowAccount})
			if err != nil {
				l.fail(n, path, err)
				return nil
			}
			return tmplNode{t}
		}
		v, err := scalarValue(n)
		if err != nil {
			l.fail(n, path, err)
			return nil
		}
		return constNode{v}
	}
	return constNode{}
}

// DecodeFile decodes the single YAML document data into v, a pointer to a
// struct declared like a connector's Config (yaml, doc, required, default
// and enum tags; Condition, Duration, Raw and *yaml.Node fields), as strictly
// as a pipeline's options: every problem is a *LoadError at file:line:col,
// joined and sorted like Load's. nectar test reads test files with it.
func DecodeFile(file string, data []byte, v any) (err error) {
	l := &loader{file: file, dir: filepath.Dir(file), src: data, errs: new([]*LoadError), globals: value.NewObject(0)}
	if len(data) > MaxFileSize {
		return &LoadError{File: file, Err: fmt.Errorf("file is larger than %d bytes", MaxFileSize)}
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return yamlError(file, err)
	}
	var extra yaml.Node
	if dec.Decode(&extra) == nil {
		return &LoadError{File: file, Line: extra.Line, Col: extra.Column, Err: errors.New("the file holds one YAML document; found a second one")}
	}
	if len(doc.Content) == 0 {
		return &LoadError{File: file, Line: 1, Col: 1, Err: errors.New("empty file")}
	}
	root := resolveAlias(doc.Content[0])
	cc := &Compiler{l: l, node: root}
	cc.decodeInto(root, reflect.ValueOf(v).Elem(), "")
	for _, e := range *l.errs {
		e.Path = strings.TrimPrefix(e.Path, ".")
	}
	return joinSorted(*l.errs)
}

// NodeError returns err positioned at n of file, as the loader reports
// problems: file:line:col: path: what.
func NodeError(file string, n *yaml.Node, path string, err error) *LoadError {
	l := &loader{file: file}
	return l.errorAt(n, path, err)
}

// LoadGlobals reads a globals file (YAML or JSON): an object of names and
// values for one environment, as passed with --globals.
func LoadGlobals(path string) (*value.Object, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(path, err)
	}
	v, err := nodeValue(&doc)
	if err != nil {
		return nil, &LoadError{File: path, Err: err}
	}
	o, ok := v.(*value.Object)
	if !ok {
		return nil, &LoadError{File: path, Line: 1, Col: 1, Err: fmt.Errorf("expected an object of globals, got %s", value.TypeName(v))}
	}
	return o, nil
}

// ParseYAML converts YAML (or JSON) text into the value model, keeping key
// order and exact integers.
func ParseYAML(data []byte) (any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	return nodeValue(&doc)
}

// NodeValue converts a YAML node into the value model, keeping key order and
// exact integers. Connectors use it for files they read next to a pipeline.
func NodeValue(n *yaml.Node) (any, error) { return nodeValue(n) }

// NodeAt returns the node at path inside n: ints index lists, strings name
// object keys (the key's node is returned, so an error points at the key).
// It returns the deepest node found when the path leaves the tree.
func NodeAt(n *yaml.Node, path []any) *yaml.Node {
	cur := resolveAlias(n)
	if cur != nil && cur.Kind == yaml.DocumentNode && len(cur.Content) > 0 {
		cur = cur.Content[0]
	}
	for _, p := range path {
		switch k := p.(type) {
		case int:
			if cur.Kind != yaml.SequenceNode || k < 0 || k >= len(cur.Content) {
				return cur
			}
			cur = resolveAlias(cur.Content[k])
		case string:
			if cur.Kind != yaml.MappingNode {
				return cur
			}
			found := false
			for i := 0; i+1 < len(cur.Content); i += 2 {
				if cur.Content[i].Value == k {
					if p == path[len(path)-1] {
						return cur.Content[i]
					}
					cur, found = resolveAlias(cur.Content[i+1]), true
					break
				}
			}
			if !found {
				return cur
			}
		}
	}
	return cur
}
