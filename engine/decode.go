package engine

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/nectar-run/nectar/engine/expression"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/internal/text"
)

// Compiler is handed to a connector's Compile function. It knows where the
// step is in its file, so a connector can report a problem at one of its
// options (ErrorAt). Nested steps (an option of type Steps) are already
// compiled when Compile runs: they are compiled as the options are decoded.
// It is used only during load.
type Compiler struct {
	l      *loader
	path   string                // e.g. steps[2].jq
	node   *yaml.Node            // the connector's configuration node
	fields map[string]*yaml.Node // option name → value node
}

// Path returns the step's path in the file, like steps[2].jq.
func (cc *Compiler) Path() string { return cc.path }

// File returns the pipeline file's name.
func (cc *Compiler) File() string { return cc.l.file }

// Dir returns the directory of the pipeline file, for options that name files
// next to it (spec_file, …).
func (cc *Compiler) Dir() string { return cc.l.dir }

// Resolve returns the path of a file named by an option: a relative name is
// taken from the pipeline file's directory, an absolute one as it is.
func (cc *Compiler) Resolve(name string) string {
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(cc.l.dir, name)
}

// Node returns the YAML node of an option, or the connector's node for ""
// and for an option the step does not set.
func (cc *Compiler) Node(option string) *yaml.Node {
	if option == "" {
		return cc.node
	}
	if n, ok := cc.fields[option]; ok {
		return n
	}
	return cc.node
}

// ErrorAt returns a load error positioned at an option (at the connector's
// block when the option is not set). If err carries an offset inside the option's
// string (an *expression.Error or an *OffsetError) and the option is a
// scalar, the position points at that character. A *LoadError in err is
// returned as it is.
func (cc *Compiler) ErrorAt(option string, err error) error {
	n := cc.Node(option)
	path := cc.path
	if option != "" {
		path += "." + option
	}
	le := cc.l.errorAt(n, path, err)
	return le
}

// Errorf is ErrorAt with a formatted message.
func (cc *Compiler) Errorf(option, format string, args ...any) error {
	return cc.ErrorAt(option, fmt.Errorf(format, args...))
}

// CheckVarName checks that name, the value of option, can be read as
// vars.NAME in an expression: letters, digits and _, not starting with a
// digit. Steps that bind a variable (for-each's and do-while's index_var)
// call it in their Compile.
func (cc *Compiler) CheckVarName(option, name string) error {
	ok := name != ""
	for i, r := range name {
		if r != '_' && !('a' <= r && r <= 'z') && !('A' <= r && r <= 'Z') && (i == 0 || !('0' <= r && r <= '9')) {
			ok = false
		}
	}
	if !ok {
		return cc.Errorf(option, "expected a variable name (letters, digits and _), got %q", name)
	}
	return nil
}

// ErrorAtNode returns a load error at any node inside the step's options.
func (cc *Compiler) ErrorAtNode(n *yaml.Node, path string, err error) error {
	return cc.l.errorAt(n, cc.path+"."+path, err)
}

// Global returns a global of the pipeline being loaded (after --globals), for
// options that are fixed per environment.
func (cc *Compiler) Global(name string) (any, bool) { return cc.l.globals.Get(name) }

// LoadOptions returns the options the pipeline is being loaded with, for a
// connector that loads another pipeline file (the pipeline connector), so that
// the environment's --globals reach it too.
func (cc *Compiler) LoadOptions() LoadOptions { return cc.l.opts }

// PipelineName returns the name of the pipeline being loaded.
func (cc *Compiler) PipelineName() string { return cc.l.name }

func (cc *Compiler) addErr(err error) {
	if err == nil {
		return
	}
	les := LoadErrors(err)
	if len(les) == 0 {
		*cc.l.errs = append(*cc.l.errs, cc.l.errorAt(cc.node, cc.path, err))
		return
	}
	*cc.l.errs = append(*cc.l.errs, les...)
}

var (
	templateType  = reflect.TypeFor[Template]()
	conditionType = reflect.TypeFor[Condition]()
	exprType      = reflect.TypeFor[Expr]()
	dynamicType   = reflect.TypeFor[Dynamic]()
	rawType       = reflect.TypeFor[Raw]()
	durationType  = reflect.TypeFor[Duration]()
	sizeType      = reflect.TypeFor[Size]()
	stepsType     = reflect.TypeFor[Steps]()
	nodeType      = reflect.TypeFor[*yaml.Node]()
)

// decodeInto decodes node into rv strictly, recording every problem.
func (cc *Compiler) decodeInto(node *yaml.Node, rv reflect.Value, path string) {
	l := cc.l
	node = resolveAlias(node)
	t := rv.Type()
	fail := func(format string, args ...any) {
		*l.errs = append(*l.errs, l.errorAt(node, path, fmt.Errorf(format, args...)))
	}
	switch t {
	case templateType:
		if node.Kind != yaml.ScalarNode || node.Tag == "!!null" {
			fail("expected a string, got %s", kindName(node))
			return
		}
		tpl, err := expression.CompileTemplate(node.Value, expression.Options{AllowAccount: cc.allowAccount(path)})
		if err != nil {
			*l.errs = append(*l.errs, l.errorAt(node, path, err))
			return
		}
		rv.Set(reflect.ValueOf(Template{t: tpl, set: true}))
		return
	case conditionType, exprType:
		if node.Kind != yaml.ScalarNode || node.Tag == "!!null" {
			fail("expected an expression, got %s", kindName(node))
			return
		}
		src := strings.TrimSpace(node.Value)
		// Accept a condition written in braces too: "{{ x > 1 }}".
		if strings.HasPrefix(src, "{{") && strings.HasSuffix(src, "}}") && strings.Count(src, "{{") == 1 {
			src = strings.TrimSpace(src[2 : len(src)-2])
		}
		e, err := expression.Compile(src, expression.Options{})
		if err != nil {
			*l.errs = append(*l.errs, l.errorAt(node, path, err))
			return
		}
		if t == conditionType {
			rv.Set(reflect.ValueOf(Condition{e: e}))
		} else {
			rv.Set(reflect.ValueOf(Expr{e: e}))
		}
		return
	case dynamicType:
		n := l.dynamic(node, path, cc.allowAccount(path))
		if n != nil {
			rv.Set(reflect.ValueOf(Dynamic{n: n, set: true}))
		}
		return
	case rawType:
		v, err := nodeValue(node)
		if err != nil {
			*l.errs = append(*l.errs, l.errorAt(node, path, err))
			return
		}
		rv.Set(reflect.ValueOf(Raw{Value: v, Node: node}))
		return
	case durationType:
		if node.Kind != yaml.ScalarNode {
			fail("expected a duration like 30s or 1500ms, got %s", kindName(node))
			return
		}
		d, ok := parseDuration(node.Value)
		if !ok {
			fail("expected a duration like 30s, 1m or 1500ms, got %q", node.Value)
			return
		}
		rv.SetInt(int64(d))
		return
	case sizeType:
		if node.Kind != yaml.ScalarNode || node.Tag == "!!null" {
			fail("expected a size like 10MB or 512KiB, got %s", kindName(node))
			return
		}
		n, err := ParseSize(node.Value)
		if err != nil {
			*l.errs = append(*l.errs, l.errorAt(node, path, err))
			return
		}
		rv.SetInt(n)
		return
	case stepsType:
		if node.Kind != yaml.SequenceNode {
			fail("expected a list of steps, got %s", kindName(node))
			return
		}
		rv.Set(reflect.ValueOf(l.steps(node, path)))
		return
	case nodeType:
		rv.Set(reflect.ValueOf(node))
		return
	}

	switch t.Kind() {
	case reflect.Pointer:
		if node.Tag == "!!null" {
			return
		}
		p := reflect.New(t.Elem())
		cc.decodeInto(node, p.Elem(), path)
		rv.Set(p)
	case reflect.Struct:
		if node.Kind != yaml.MappingNode {
			fail("expected an object with options %s, got %s", optionList(t), kindName(node))
			return
		}
		cc.decodeStruct(node, rv, path)
	case reflect.Slice:
		if node.Kind != yaml.SequenceNode {
			// A single value where a list is expected is a list of one, as
			// users write `methods: GET` as readily as `methods: [GET]`.
			if node.Kind == yaml.ScalarNode && node.Tag != "!!null" && (t.Elem().Kind() != reflect.Struct || isSpecial(t.Elem())) {
				s := reflect.MakeSlice(t, 1, 1)
				cc.decodeInto(node, s.Index(0), path)
				rv.Set(s)
				return
			}
			fail("expected a list, got %s", kindName(node))
			return
		}
		s := reflect.MakeSlice(t, len(node.Content), len(node.Content))
		for i, c := range node.Content {
			cc.decodeInto(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		rv.Set(s)
	case reflect.Map:
		if node.Kind != yaml.MappingNode {
			fail("expected an object, got %s", kindName(node))
			return
		}
		m := reflect.MakeMapWithSize(t, len(node.Content)/2)
		seen := map[string]bool{}
		for i := 0; i+1 < len(node.Content); i += 2 {
			k, v := node.Content[i], node.Content[i+1]
			if seen[k.Value] {
				*l.errs = append(*l.errs, l.errorAt(k, path+"."+k.Value, errors.New("duplicate key")))
				continue
			}
			seen[k.Value] = true
			ev := reflect.New(t.Elem()).Elem()
			cc.decodeInto(v, ev, path+"."+k.Value)
			m.SetMapIndex(reflect.ValueOf(k.Value).Convert(t.Key()), ev)
		}
		rv.Set(m)
	case reflect.Interface:
		v, err := nodeValue(node)
		if err != nil {
			*l.errs = append(*l.errs, l.errorAt(node, path, err))
			return
		}
		if v != nil {
			rv.Set(reflect.ValueOf(v))
		}
	case reflect.String:
		if node.Kind != yaml.ScalarNode || node.Tag == "!!null" {
			fail("expected a string, got %s", kindName(node))
			return
		}
		rv.SetString(node.Value)
	case reflect.Bool:
		b, err := strconv.ParseBool(node.Value)
		if node.Kind != yaml.ScalarNode || err != nil {
			fail("expected true or false, got %s", describe(node))
			return
		}
		rv.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, err := strconv.ParseInt(strings.ReplaceAll(node.Value, "_", ""), 0, 64)
		if node.Kind != yaml.ScalarNode || err != nil {
			fail("expected a whole number, got %s", describe(node))
			return
		}
		rv.SetInt(n)
	case reflect.Float64:
		f, err := strconv.ParseFloat(node.Value, 64)
		if node.Kind != yaml.ScalarNode || err != nil {
			fail("expected a number, got %s", describe(node))
			return
		}
		rv.SetFloat(f)
	default:
		fail("option type %s is not supported", t)
	}
}

// allowAccount reports whether account references are allowed at path:
// in header values only, as in Digibee.
func (cc *Compiler) allowAccount(path string) bool {
	return strings.Contains(path, ".headers.")
}

type fieldInfo struct {
	name     string
	index    []int
	required bool
	def      string
	hasDef   bool
	enum     []string
	doc      string
	// ops lists the operations the option applies to (its ops tag, or the
	// ops tag of the inline struct it comes from); empty: every operation.
	ops []string
}

// operationOption is the option whose value the ops tags of a struct name.
const operationOption = "operation"

func structFields(t reflect.Type) []fieldInfo {
	var out []fieldInfo
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		ops := splitTag(f.Tag.Get("ops"))
		if f.Anonymous && strings.Contains(opts, "inline") {
			for _, sub := range structFields(f.Type) {
				sub.index = append([]int{i}, sub.index...)
				if len(sub.ops) == 0 {
					sub.ops = ops
				}
				out = append(out, sub)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fi := fieldInfo{name: name, index: []int{i}, required: f.Tag.Get("required") == "true", doc: f.Tag.Get("doc"), ops: ops}
		fi.def, fi.hasDef = f.Tag.Lookup("default")
		fi.enum = splitTag(f.Tag.Get("enum"))
		out = append(out, fi)
	}
	return out
}

func splitTag(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// checkOps panics when the ops tags of struct t (and of the structs it holds)
// do not name operations of its operation option: a declaration mistake,
// caught when the connector registers.
func checkOps(t reflect.Type) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || isSpecial(t) {
		return
	}
	fields := structFields(t)
	var opField *fieldInfo
	for i := range fields {
		if fields[i].name == operationOption {
			opField = &fields[i]
		}
	}
	for _, f := range fields {
		checkOps(t.FieldByIndex(f.index).Type)
		for _, op := range f.ops {
			if opField == nil || t.FieldByIndex(opField.index).Type.Kind() != reflect.String || !contains(opField.enum, op) {
				panic(fmt.Sprintf("engine: %s: option %q applies to operation %q, which is not in the enum of a string option %q", t, f.name, op, operationOption))
			}
		}
	}
}

func (cc *Compiler) decodeStruct(node *yaml.Node, rv reflect.Value, path string) {
	l := cc.l
	fields := structFields(rv.Type())
	byName := make(map[string]*fieldInfo, len(fields))
	names := make([]string, len(fields))
	for i := range fields {
		byName[fields[i].name] = &fields[i]
		names[i] = fields[i].name
	}
	seen := map[string]bool{}
	var opsGiven []int // the given options that apply to some operations only
	for i := 0; i+1 < len(node.Content); i += 2 {
		k, v := node.Content[i], node.Content[i+1]
		p := path + "." + k.Value
		if seen[k.Value] {
			*l.errs = append(*l.errs, l.errorAt(k, p, errors.New("duplicate key")))
			continue
		}
		seen[k.Value] = true
		f, ok := byName[k.Value]
		if !ok {
			*l.errs = append(*l.errs, l.errorAt(k, p, unknownError("option", k.Value, names)))
			continue
		}
		fv := rv.FieldByIndex(f.index)
		cc.decodeInto(v, fv, p)
		if len(f.enum) > 0 && fv.Kind() == reflect.String && fv.String() != "" && !contains(f.enum, fv.String()) {
			*l.errs = append(*l.errs, l.errorAt(v, p, fmt.Errorf("expected one of %s, got %q", strings.Join(f.enum, ", "), fv.String())))
		}
		if len(f.ops) > 0 {
			opsGiven = append(opsGiven, i)
		}
	}
	// An option given for an operation it does not apply to is an error at
	// the option, naming the operations it applies to (the ops tags).
	if op, ok := byName[operationOption]; ok && len(opsGiven) > 0 {
		if name := rv.FieldByIndex(op.index).String(); contains(op.enum, name) {
			for _, i := range opsGiven {
				k, v := node.Content[i], node.Content[i+1]
				if f := byName[k.Value]; !contains(f.ops, name) {
					*l.errs = append(*l.errs, l.errorAt(v, path+"."+k.Value, fmt.Errorf("%s does not use this option (it applies to %s)", name, strings.Join(f.ops, ", "))))
				}
			}
		}
	}
	for i := range fields {
		f := &fields[i]
		if seen[f.name] {
			continue
		}
		if f.required {
			*l.errs = append(*l.errs, l.errorAt(node, path, fmt.Errorf("missing required option %q", f.name)))
			continue
		}
		if f.hasDef {
			dn := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: f.def, Line: node.Line, Column: node.Column}
			cc.decodeInto(dn, rv.FieldByIndex(f.index), path+"."+f.name)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func optionList(t reflect.Type) string {
	var names []string
	for _, f := range structFields(t) {
		names = append(names, f.name)
	}
	if len(names) > 6 {
		names = append(names[:6], "…")
	}
	return strings.Join(names, ", ")
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "an object"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "nothing"
		case "!!int", "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		}
		return "a string"
	}
	return "nothing"
}

func describe(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		return fmt.Sprintf("%s %q", kindName(n), n.Value)
	}
	return kindName(n)
}

// mappingKey returns the JSON key a YAML mapping key becomes: a string
// (an alias of one too). A list or mapping as a key has no JSON key to
// become, and merge keys (<<) are not supported.
func mappingKey(k *yaml.Node) (string, error) {
	r := resolveAlias(k)
	if r.Kind != yaml.ScalarNode {
		return "", fmt.Errorf("object keys must be strings, not %s", kindName(r))
	}
	if r.Tag == "!!merge" {
		return "", errors.New("merge keys (<<) are not supported")
	}
	return r.Value, nil
}

// nodeValue converts a YAML node into the value model, keeping key order and
// exact integers.
func nodeValue(n *yaml.Node) (any, error) {
	n = resolveAlias(n)
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return nodeValue(n.Content[0])
	case yaml.MappingNode:
		o := value.NewObject(len(n.Content) / 2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, err := mappingKey(n.Content[i])
			if err != nil {
				return nil, err
			}
			if o.Has(k) {
				return nil, fmt.Errorf("duplicate key %q", k)
			}
			v, err := nodeValue(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			o.Set(k, v)
		}
		return o, nil
	case yaml.SequenceNode:
		out := make([]any, len(n.Content))
		for i, c := range n.Content {
			v, err := nodeValue(c)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case yaml.ScalarNode:
		return scalarValue(n)
	}
	return nil, nil
}

func scalarValue(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		b, err := strconv.ParseBool(n.Value)
		if err != nil {
			// YAML 1.1 words (yes/no/on/off) are strings in YAML 1.2, as here.
			return n.Value, nil
		}
		return b, nil
	case "!!int":
		v, err := value.DecodeString(strings.ReplaceAll(n.Value, "_", ""))
		if err == nil && value.IsNumber(v) {
			return v, nil
		}
		if i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64); err == nil {
			return i, nil
		}
		return n.Value, nil
	case "!!float":
		// yaml.v3 tags an integer too large for int64 as a float; it stays an
		// exact number, as it does in JSON input.
		if n.Style&yaml.TaggedStyle == 0 {
			if digits, ok := plainInteger(n.Value); ok {
				if v, err := value.DecodeString(digits); err == nil && value.IsNumber(v) {
					return v, nil
				}
			}
		}
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil {
			var v float64
			if n.Decode(&v) == nil {
				return v, nil
			}
			return n.Value, nil
		}
		return f, nil
	case "!!timestamp":
		if t, err := time.Parse(time.RFC3339Nano, n.Value); err == nil {
			return t.Format(time.RFC3339Nano), nil
		}
		return n.Value, nil
	}
	return n.Value, nil
}

// plainInteger returns s as a JSON integer when it is a decimal integer
// literal (sign, digits, underscores between digits).
func plainInteger(s string) (string, bool) {
	s = strings.TrimPrefix(strings.ReplaceAll(s, "_", ""), "+")
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || (len(digits) > 1 && digits[0] == '0') {
		return "", false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return "", false
		}
	}
	return s, true
}

// unknownError says that name is not one of known, suggesting the closest
// known name when one is close enough, else listing them when there are 12
// or fewer.
func unknownError(what, name string, known []string) error {
	if s := suggest(name, known); s != "" {
		return fmt.Errorf("unknown %s; did you mean %q?", what, s)
	}
	if len(known) > 0 && len(known) <= 12 {
		return fmt.Errorf("unknown %s; expected one of %s", what, strings.Join(known, ", "))
	}
	return fmt.Errorf("unknown %s", what)
}

// suggest returns the known name closest to name, if it is close enough.
func suggest(name string, known []string) string {
	best, bestD := "", 1<<30
	for _, k := range known {
		d := text.Distance([]rune(strings.ToLower(name)), []rune(strings.ToLower(k)))
		if d < bestD {
			best, bestD = k, d
		}
	}
	limit := 2
	if len(name) > 8 {
		limit = 3
	}
	if bestD <= limit && bestD < len(name) {
		return best
	}
	return ""
}

// describeOptions lists a struct's options for docs and schema.
func describeOptions(t reflect.Type) []OptionInfo {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || isSpecial(t) {
		return nil
	}
	var out []OptionInfo
	for _, f := range structFields(t) {
		ft := t.FieldByIndex(f.index).Type
		oi := OptionInfo{Name: f.name, Type: typeName(ft), Required: f.required, Default: f.def, Enum: f.enum, Doc: f.doc, Operations: f.ops}
		inner := ft
		for inner.Kind() == reflect.Pointer || inner.Kind() == reflect.Slice {
			inner = inner.Elem()
		}
		if inner.Kind() == reflect.Struct && !isSpecial(inner) {
			oi.Options = describeOptions(inner)
		}
		out = append(out, oi)
	}
	return out
}

func isSpecial(t reflect.Type) bool {
	switch t {
	case templateType, conditionType, exprType, dynamicType, rawType, durationType, sizeType, stepsType:
		return true
	}
	return false
}

func typeName(t reflect.Type) string {
	switch t {
	case templateType:
		return "template"
	case conditionType:
		return "condition"
	case exprType:
		return "expression"
	case dynamicType:
		return "json template"
	case rawType:
		return "json"
	case durationType:
		return "duration"
	case sizeType:
		return "size"
	case stepsType:
		return "steps"
	case nodeType:
		return "any"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return typeName(t.Elem())
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "integer"
	case reflect.Float64:
		return "number"
	case reflect.Slice:
		return "list of " + typeName(t.Elem())
	case reflect.Map:
		return "map of " + typeName(t.Elem())
	case reflect.Struct:
		return "object"
	}
	return "any"
}
