package engine

import (
	"reflect"
	"strconv"

	"github.com/nectar-run/nectar/engine/value"
)

// Schema returns a JSON Schema (draft 2020-12) of pipeline files, for editors
// (yaml-language-server, JetBrains IDEs) and CI.
//
// It is generated from the same declarations the loader decodes with (the
// configuration types of connectors and triggers, the step options, the
// top-level keys), each Go type mapped to what decodeInto accepts for it: a
// template, a condition or a plain string is any scalar; a list also takes a
// single value; a Dynamic (set, body, …) takes any value. So a file Nectar
// loads validates, and the schema still rejects an unknown connector,
// trigger or option, a step with no or two connectors, and a value of the
// wrong kind for a boolean, number, duration, list or object option. It is
// stricter than the loader in one place, on purpose: a boolean option takes
// true or false and a number option a number, not the text ("true", 1, "3")
// strconv would also read. The checks it cannot express (an expression's
// syntax, a cron line, a file named by an option) are `nectar validate`'s.
//
// The schema uses only keywords that mean the same in draft 7, for editors
// that know no later draft; cmd/nectar's tests validate every shipped
// pipeline with it under both.
func Schema() *value.Object {
	stepProps := value.NewObject(32)
	for _, f := range structFields(stepCommonType) {
		stepProps.Set(f.name, fieldSchema(stepCommonType, f))
	}
	var oneOf []any
	for _, name := range connectorRegistry.names() {
		c, _ := connectorRegistry.get(name)
		t := c.configType()
		s := typeSchema(t)
		// `- log:` is `- log: {}`: the loader reads a connector left empty as
		// one with no options.
		if t.Kind() == reflect.Struct && !isSpecial(t) && !hasRequired(t) {
			s = nullable(s)
		}
		s.Set("description", c.summary())
		stepProps.Set(name, s)
		oneOf = append(oneOf, value.ObjectOf("required", []any{name}))
	}
	step := value.ObjectOf(
		"description", "a step: one connector key with its options, next to the options every step has",
		"type", "object",
		"properties", stepProps,
		"additionalProperties", false,
		"oneOf", oneOf,
	)

	trig := value.NewObject(4)
	for _, n := range triggerRegistry.names() {
		d, _ := triggerRegistry.get(n)
		t := d.configType()
		// `event: orders.created` is the trigger's first option; a trigger
		// left empty is one with no options.
		alts := []any{typeSchema(t)}
		if !hasRequired(t) {
			alts = append(alts, value.ObjectOf("type", "null"))
		}
		if fields := structFields(t); len(fields) > 0 {
			if s := scalarForm(t.FieldByIndex(fields[0].index).Type); s != nil {
				alts = append(alts, s)
			}
		}
		trig.Set(n, value.ObjectOf("description", d.summary(), "anyOf", alts))
	}

	name := scalarText()
	name.Set("minLength", int64(1))
	name.Set("pattern", "^[A-Za-z0-9._-]+$")
	name.Set("description", "the pipeline's name: letters, digits, '-', '_' and '.'")
	desc := scalarText()
	desc.Set("description", "free text for readers")
	props := value.ObjectOf(
		"name", name,
		"description", desc,
		"globals", value.ObjectOf("type", []any{"object", "null"},
			"description", "values the pipeline reads as globals.NAME; a --globals file of an environment overrides them"),
		"sensitive_fields", withDoc(typeSchema(reflect.TypeFor[[]string]()),
			"more field names whose values are masked as *** in logs and execution records"),
		"timeout", withDoc(typeSchema(durationType), "the execution fails with 504 when it runs longer"),
		"trigger", value.ObjectOf(
			"description", "what starts the pipeline: one trigger kind with its options",
			"type", "object", "minProperties", int64(1), "maxProperties", int64(1),
			"properties", trig, "additionalProperties", false),
		"steps", value.ObjectOf(
			"description", "the steps, run in order over the message",
			"type", "array", "minItems", int64(1), "items", value.ObjectOf("$ref", "#/$defs/step")),
	)
	for _, k := range topLevelKeys {
		if !props.Has(k) {
			panic("engine: the schema lacks the top-level key " + k)
		}
	}
	return value.ObjectOf(
		"$schema", "https://json-schema.org/draft/2020-12/schema",
		"title", "Nectar pipeline",
		"type", "object",
		"required", []any{"name", "steps"},
		"additionalProperties", false,
		"properties", props,
		"$defs", value.ObjectOf("step", step),
	)
}

// durationPattern matches what parseDuration accepts as a string: a number
// of milliseconds, or a Go duration (1m30s, 1500ms).
const durationPattern = `^\+?([0-9]+|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`

// scalarText is the schema of what the loader reads as text: any scalar (a
// number or boolean is taken as written), not null.
func scalarText() *value.Object {
	return value.ObjectOf("type", []any{"string", "number", "boolean"})
}

// typeSchema is the schema of the values decodeInto accepts for t.
func typeSchema(t reflect.Type) *value.Object {
	switch t {
	case templateType, conditionType, exprType:
		return scalarText()
	case dynamicType, rawType, nodeType:
		return value.NewObject(2) // any value
	case durationType:
		return value.ObjectOf("type", []any{"string", "integer"}, "minimum", int64(0), "pattern", durationPattern)
	case sizeType:
		return value.ObjectOf("type", []any{"string", "integer"}, "minimum", int64(1), "pattern", sizePattern)
	case stepsType:
		return value.ObjectOf("type", "array", "items", value.ObjectOf("$ref", "#/$defs/step"))
	}
	switch t.Kind() {
	case reflect.Pointer:
		return nullable(typeSchema(t.Elem()))
	case reflect.Struct:
		props := value.NewObject(t.NumField())
		var required, opsRules []any
		for _, f := range structFields(t) {
			props.Set(f.name, fieldSchema(t, f))
			if f.required {
				required = append(required, f.name)
			}
			if len(f.ops) > 0 {
				// An option of some operations only: when it is given, the
				// operation is one of them.
				opsRules = append(opsRules, value.ObjectOf(
					"if", value.ObjectOf("required", []any{f.name}),
					"then", value.ObjectOf("properties", value.ObjectOf(operationOption, value.ObjectOf("enum", anySlice(f.ops))))))
			}
		}
		s := value.ObjectOf("type", "object", "properties", props, "additionalProperties", false)
		if len(required) > 0 {
			s.Set("required", required)
		}
		if len(opsRules) > 0 {
			s.Set("allOf", opsRules)
		}
		return s
	case reflect.Slice:
		list := value.ObjectOf("type", "array", "items", typeSchema(t.Elem()))
		// A single value is a list of one (`methods: GET`).
		if e := t.Elem(); e.Kind() != reflect.Struct || isSpecial(e) {
			if one := scalarForm(e); one != nil {
				return value.ObjectOf("anyOf", []any{list, one})
			}
		}
		return list
	case reflect.Map:
		return value.ObjectOf("type", "object", "additionalProperties", typeSchema(t.Elem()))
	case reflect.Interface:
		return value.NewObject(2)
	case reflect.String:
		return scalarText()
	case reflect.Bool:
		return value.ObjectOf("type", "boolean")
	case reflect.Int, reflect.Int64, reflect.Int32:
		return value.ObjectOf("type", "integer")
	case reflect.Float64:
		return value.ObjectOf("type", "number")
	}
	return value.NewObject(2)
}

// scalarForm is the schema of the non-null scalars decodeInto accepts for t,
// or nil when it accepts none (an object, a map, nested steps).
func scalarForm(t reflect.Type) *value.Object {
	switch t {
	case templateType, conditionType, exprType, durationType, sizeType:
		return typeSchema(t)
	case dynamicType, rawType, nodeType:
		return scalarText()
	case stepsType:
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		return scalarForm(t.Elem())
	case reflect.Slice:
		if e := t.Elem(); e.Kind() != reflect.Struct || isSpecial(e) {
			return scalarForm(e)
		}
		return nil
	case reflect.Interface:
		return scalarText()
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int64, reflect.Int32, reflect.Float64:
		return typeSchema(t)
	}
	return nil
}

// fieldSchema is the schema of one option of struct t, with its pattern,
// enum, default and doc.
func fieldSchema(t reflect.Type, f fieldInfo) *value.Object {
	sf := t.FieldByIndex(f.index)
	ft := sf.Type
	var s *value.Object
	if p := sf.Tag.Get("pattern"); p != "" && ft.Kind() == reflect.String {
		// A pattern tag tells editors the shape a string option's own
		// check (in the loader or the connector) wants.
		s = value.ObjectOf("type", "string", "pattern", p)
	} else if len(f.enum) > 0 && ft.Kind() == reflect.String {
		// decodeStruct checks the enum of string options only.
		s = value.ObjectOf("enum", anySlice(f.enum))
	} else {
		s = typeSchema(ft)
	}
	if f.hasDef {
		if d, ok := defaultValue(ft, f.def); ok {
			s.Set("default", d)
		}
	}
	return withDoc(s, f.doc)
}

// defaultValue is a default tag as a JSON value, for the scalar kinds whose
// tag reads as one.
func defaultValue(t reflect.Type, def string) (any, bool) {
	switch t {
	case templateType, durationType, sizeType:
		return def, true
	}
	switch t.Kind() {
	case reflect.String:
		return def, true
	case reflect.Bool:
		b, err := strconv.ParseBool(def)
		return b, err == nil
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, err := strconv.ParseInt(def, 0, 64)
		return n, err == nil
	case reflect.Float64:
		f, err := strconv.ParseFloat(def, 64)
		return f, err == nil
	}
	return nil, false
}

// hasRequired reports whether struct t has a required option.
func hasRequired(t reflect.Type) bool {
	for _, f := range structFields(t) {
		if f.required {
			return true
		}
	}
	return false
}

// nullable lets s also be null (an option left empty: `jwt:`). A schema
// that takes any value is returned as it is.
func nullable(s *value.Object) *value.Object {
	if s.Len() == 0 {
		return s
	}
	return value.ObjectOf("anyOf", []any{value.ObjectOf("type", "null"), s})
}

func anySlice(list []string) []any {
	out := make([]any, len(list))
	for i, e := range list {
		out[i] = e
	}
	return out
}

func withDoc(s *value.Object, doc string) *value.Object {
	if doc != "" {
		s.Set("description", doc)
	}
	return s
}
