// Package pipetest runs pipeline tests (nectar test): YAML test files next
// to a pipeline (orders.test.yaml beside orders.yaml, or files in a tests
// folder), each a list of cases with an input, mocks that replace steps'
// connectors, and expectations on the output, the error, the steps run and
// their inputs, log lines, vars and duration.
//
// The stages are a file each: file.go decodes a test file with the
// engine's strict decoder (problems are file:line:col: path: what, like a
// pipeline's) and checks it against the pipeline it tests; mock.go answers
// mocked steps through engine.Runtime.Intercept and mocked HTTP requests
// through httpclient.Wrap, and refuses any request that would leave the
// machine; run.go runs cases in parallel and checks them; diff.go compares
// values by JSON path; cover.go turns the runs' traces into step and branch
// coverage; report.go writes text, JSON and JUnit XML; record.go turns a
// recorded execution into a test case.
//
//	suites, err := pipetest.Load([]string{"pipelines/"}, pipetest.LoadOptions{})
//	rep := pipetest.Run(ctx, suites, pipetest.Options{Cover: true})
//	rep.WriteText(os.Stdout, false)
//
// A loaded Suite is read-only while it runs: Run may run its cases on many
// goroutines at once, each with its own runtime.
package pipetest
