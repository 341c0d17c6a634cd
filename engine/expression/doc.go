// Package expression compiles and evaluates Nectar's `{{ … }}` expressions.
//
// # Basics
//
// A template is a string from a step's configuration. Text outside `{{ }}` is
// kept as it is; each `{{ expr }}` is an expression in the expr language
// (github.com/expr-lang/expr). A template that is exactly one `{{ expr }}`
// yields the expression's typed value (a number, an object, a list); any other
// template yields the parts joined as text. Conditions (`that`, `when`, `if`)
// are plain expressions without braces.
//
// In scope: message (the current message; message.$ is the whole message, as in
// Digibee), vars, globals (also global), metadata, and in header values only,
// account. Member access on a missing key gives nil instead of an error, so
// `message.customer.name` is nil when customer is missing. Comparisons with
// nil (<, <=, >, >=) are false. Object literals keep their key order.
//
// The function catalogue (Functions) holds Digibee's Double Braces functions
// under their upper-case names (CONCAT, DEFAULT, FORMATDATE, …) next to expr's
// own builtins. An expression copied from a Digibee pipeline loads unchanged:
// names are case-insensitive (concat and Concat call CONCAT, also where expr
// has a builtin of that name, except join, split, toJSON and sum, which
// stay expr's); and(…), or(…), contains(…), matches(…) and if(…) written as calls
// are Digibee's functions; null is the null literal, as nil is; and in string
// literals a backslash that is not one of expr's escapes stays a backslash
// ("\d" is the regular expression \d). docs/functions.md, "Coming from
// Digibee", states the rules.
//
// # Concurrency
//
// Compile once, at load; a compiled *Expr or *Template is immutable and safe
// for concurrent use by many executions. Eval keeps no state between calls.
//
// # Errors
//
// Compile errors are *Error values with the byte offset of the problem inside
// the source string, so the pipeline loader can point at file:line:col.
// Evaluation errors are *EvalError values naming the expression.
package expression
