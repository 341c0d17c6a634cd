package engine

import (
	"sort"
	"strings"

	"github.com/nectar-run/nectar/engine/value"
)

// Schema returns a JSON Schema (draft 2020-12) of pipeline files, generated
// from the connector and trigger declarations, for editors and CI.
func Schema() *value.Object {
	stepProps := value.NewObject(16)
	for _, name := range sortedKeys(stepOptions) {
		stepProps.Set(name, value.ObjectOf("description", stepOptions[name]))
	}
	var oneOf []any
	for _, c := range Connectors() {
		var cs *value.Object
		if c.List {
			cs = value.ObjectOf("type", "array", "items", optionsSchema(c.Options))
		} else {
			cs = optionsSchema(c.Options)
		}
		cs.Set("description", c.Summary)
		stepProps.Set(c.Name, cs)
		oneOf = append(oneOf, value.ObjectOf("required", []any{c.Name}))
	}
	step := value.ObjectOf("type", "object", "properties", stepProps, "additionalProperties", false, "oneOf", oneOf)
	trig := value.NewObject(4)
	for _, t := range Triggers() {
		s := optionsSchema(t.Options)
		s.Set("description", t.Summary)
		trig.Set(t.Name, s)
	}
	return value.ObjectOf(
		"$schema", "https://json-schema.org/draft/2020-12/schema",
		"title", "Nectar pipeline",
		"type", "object",
		"required", []any{"name", "steps"},
		"additionalProperties", false,
		"properties", value.ObjectOf(
			"name", value.ObjectOf("type", "string", "pattern", "^[A-Za-z0-9._-]+$"),
			"description", value.ObjectOf("type", "string"),
			"globals", value.ObjectOf("type", "object"),
			"sensitive_fields", value.ObjectOf("type", "array", "items", value.ObjectOf("type", "string")),
			"timeout", value.ObjectOf("type", []any{"string", "integer"}),
			"trigger", value.ObjectOf("type", "object", "maxProperties", int64(1), "properties", trig, "additionalProperties", false),
			"steps", value.ObjectOf("type", "array", "minItems", int64(1), "items", value.ObjectOf("$ref", "#/$defs/step")),
		),
		"$defs", value.ObjectOf("step", step),
	)
}

func optionsSchema(opts []OptionInfo) *value.Object {
	props := value.NewObject(len(opts))
	var required []any
	for _, o := range opts {
		props.Set(o.Name, optionSchema(o))
		if o.Required {
			required = append(required, o.Name)
		}
	}
	s := value.ObjectOf("type", "object", "properties", props, "additionalProperties", false)
	if len(required) > 0 {
		s.Set("required", required)
	}
	return s
}

func optionSchema(o OptionInfo) *value.Object {
	var s *value.Object
	t := o.Type
	switch {
	case strings.HasPrefix(t, "list of "):
		item := optionSchema(OptionInfo{Type: strings.TrimPrefix(t, "list of "), Options: o.Options})
		s = value.ObjectOf("type", "array", "items", item)
	case strings.HasPrefix(t, "map of "):
		s = value.ObjectOf("type", "object", "additionalProperties", optionSchema(OptionInfo{Type: strings.TrimPrefix(t, "map of ")}))
	case t == "object":
		s = optionsSchema(o.Options)
	case t == "string", t == "template", t == "condition", t == "expression":
		s = value.ObjectOf("type", "string")
	case t == "integer":
		s = value.ObjectOf("type", "integer")
	case t == "number":
		s = value.ObjectOf("type", "number")
	case t == "boolean":
		s = value.ObjectOf("type", "boolean")
	case t == "duration":
		s = value.ObjectOf("type", []any{"string", "integer"})
	case t == "steps":
		s = value.ObjectOf("type", "array", "items", value.ObjectOf("$ref", "#/$defs/step"))
	default:
		s = value.NewObject(2)
	}
	if o.Doc != "" {
		s.Set("description", o.Doc)
	}
	if len(o.Enum) > 0 {
		enum := make([]any, len(o.Enum))
		for i, e := range o.Enum {
			enum[i] = e
		}
		s.Set("enum", enum)
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
