package pipetest

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

func joinErrs(errs []error) error { return errors.Join(errs...) }

// WriteText writes the report for a terminal: a FAIL block per failed
// case with each difference (JSON paths for values), an ok line per passed
// one when verbose, and a summary line.
func (r *Report) WriteText(w io.Writer, verbose bool) {
	for _, res := range r.Results {
		if res.Passed {
			if verbose {
				fmt.Fprintf(w, "ok    %s (%s)\n", res.Name(), round(res.Duration))
			}
			continue
		}
		fmt.Fprintf(w, "FAIL  %s (%s)\n      %s:%d\n", res.Name(), round(res.Duration), res.File, res.Line)
		for _, f := range res.Failures {
			fmt.Fprintf(w, "      %s\n", strings.ReplaceAll(f, "\n", "\n      "))
		}
	}
	status := "ok"
	if r.Failed > 0 {
		status = "FAIL"
	}
	fmt.Fprintf(w, "%s: %d passed, %d failed (%s)\n", status, r.Passed, r.Failed, round(r.Duration))
}

func round(d time.Duration) time.Duration {
	switch {
	case d > time.Second:
		return d.Round(time.Millisecond)
	case d > time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// WriteJSON writes the report as one JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	File     string      `xml:"file,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr"`
	Line      int           `xml:"line,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.6f", d.Seconds()) }

// WriteJUnit writes the report as JUnit XML, a testsuite per test file,
// for CI systems.
func (r *Report) WriteJUnit(w io.Writer) error {
	out := junitSuites{Tests: len(r.Results), Failures: r.Failed, Time: seconds(r.Duration)}
	index := map[string]int{}
	for _, res := range r.Results {
		i, ok := index[res.File]
		if !ok {
			i = len(out.Suites)
			index[res.File] = i
			out.Suites = append(out.Suites, junitSuite{Name: res.Pipeline, File: res.File})
		}
		s := &out.Suites[i]
		jc := junitCase{Name: res.Case, Classname: res.Pipeline, File: res.File, Line: res.Line, Time: seconds(res.Duration)}
		if !res.Passed {
			s.Failures++
			jc.Failure = &junitFailure{Message: res.Failures[0], Text: strings.Join(res.Failures, "\n")}
		}
		s.Tests++
		s.Cases = append(s.Cases, jc)
	}
	for i := range out.Suites {
		var d time.Duration
		for _, res := range r.Results {
			if res.File == out.Suites[i].File {
				d += res.Duration
			}
		}
		out.Suites[i].Time = seconds(d)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
