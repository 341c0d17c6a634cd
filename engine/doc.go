/*
Package engine loads and runs Nectar pipelines: it turns a pipeline file into
a compiled, immutable Pipeline, once, and runs it over messages, many times
and concurrently. It knows no store, account, trigger server or connector by
name: connectors register themselves with it, and the services they need
reach them through the Runtime.

# Basics

A pipeline is a YAML file: a name, optional globals, sensitive_fields, a
timeout and a trigger block, and a list of steps. Load (or LoadFile) parses
it, decodes every step strictly and compiles it into a *Pipeline; a Library
holds the pipelines one pipeline may call by name.

A step is one connector key (set, rest, jq, …) with that connector's
options, next to the options every step has: name, description, if, from,
to, on_error, retry and timeout. The executor wraps each connector's Step
with them: if decides whether it runs, from chooses its input, retry and
timeout bound it, on_error: continue makes its error object its result,
and to says where its result goes (vars.NAME, message.PATH, or by default
in place of the message).

A connector is declared once, with Register(name, summary, compile) from an
init function, as image.RegisterFormat declares an image format. The fields
of C, compile's options type, with their yaml, doc, required, default and
enum tags, are its options: the same declaration drives strict decoding (unknown options get a "did you mean"), nectar
validate, nectar schema, nectar connectors and the options table of the
connector's README. compile runs once per step at load, with the decoded C
and a *Compiler; it returns the Step whose Execute runs on every message.
Option types with meaning to the engine are Template (a string with {{ }}),
Condition and Expr (an expression), Dynamic (any JSON-like value whose
strings may hold {{ }}), Raw (plain data), Duration and Steps (nested steps,
as in choice or try). Trigger kinds are declared the same way with
RegisterTrigger; the loader decodes a pipeline's trigger block (TriggerBlock)
and compiles it into a Trigger, which a host (package server) starts through a
Host.

A message is a value of the value model (package value): nil, bool, string,
int64, float64, []any and *value.Object, an object that keeps its keys in
order. Messages are shared, never changed: a step builds new objects for its
result and leaves its input as it found it.

Expressions (package expression) are the {{ … }} of templates and the plain
expressions of conditions, compiled at load. They see the message, vars (the
execution's variables), globals, metadata (execution id, pipeline, start,
and what the trigger adds) and, in header values only, account.

# Loading

Every problem of a file is reported, not the first only, each as a
*LoadError with the file, the line and column, and the path of the option
inside the file (steps[2].rest.url); LoadErrors splits the joined error
Load returns. A connector reports its own problems through the Compiler:
ErrorAt positions an error at one of its options, and at the very character
when the error is an *expression.Error or an *OffsetError. A pipeline with
any problem is not returned, and the steps already compiled are closed.

# Running

Pipeline.Run(ctx, rt, input, RunOptions) runs one execution: it creates an
*Exec (the execution's id, vars, metadata, logger and trace), runs the steps
in order and returns the final message. The Runtime is what executions
share: the pipelines a step may call (Resolver), the logger, the sensitive
field names and the secret values to mask, and services by key
(SetService, Service): the accounts manager, the object store, the event
bus, which connectors look up when they run. Exec.CallPipeline runs another
pipeline inside the same execution (MaxCallDepth deep at most), and
Exec.Fork gives a concurrent branch its own vars. RunOptions.Trace, when
set, receives one StepRecord per step run, which the execution history
stores; with Trace.KeepIO it also keeps each step's input and result and the
log connector's lines (Exec.TraceLog), for the console's timeline. A trace
that does not ask for them costs nothing more.

# Errors

A failed execution returns an *Error: an HTTP-like Code, a Message, and the
pipeline, step and execution id where it happened. Its Object is the error
object steps and callers see ({"timestamp", "error", "code", …}). A
connector fails with NewError (a %w keeps the cause for errors.Is); any other
error it returns becomes a 500, or a 504 when a deadline passed (AsError).
ErrCallDepth and ErrUnknownPipeline are wrapped in the errors of the
pipeline calls they stop. A panic in a connector becomes a 500 error, and
one during compile a load error: neither takes the process down.

# Masking

Values of sensitive fields (DefaultSensitiveFields, a pipeline's
sensitive_fields, Runtime.SensitiveFields; compared as SensitiveField says)
and the secret values Nectar holds (Runtime.Secrets, RunOptions.Secrets)
are shown as *** wherever Nectar shows data: Mask is the one walk over a
value that hides them, used by log lines (MaskLogs), the log connector and
the execution history.

# Caveats

A Pipeline, its Steps and a Runtime whose fields are set are safe for
concurrent use; an Exec is used by one goroutine at a time. A Step keeps no
per-run state and must not change the values it receives. Register panics
on an empty or duplicate name and RegisterTrigger on a duplicate one, so a
key cannot be claimed twice; they are meant for init functions, before any
load.
Steps that hold resources implement Closer; Pipeline.Close releases them
when the pipeline is unloaded.
*/
package engine
