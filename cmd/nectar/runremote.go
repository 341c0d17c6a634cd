package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/server"
)

// runOnServer is nectar run while nectar serve holds --data-dir: the
// pipeline (FILE's content, or a served pipeline's NAME) runs on the server
// through POST /api/run, and prints and exits as a local run does.
func runOnServer(ctx context.Context, g *globals, c *apiClient, arg, input string, vars []string, globalsFile string, trace bool) error {
	req := server.RunRequest{Trace: trace}
	if globalsFile != "" {
		gl, err := engine.LoadGlobals(globalsFile)
		if err != nil {
			fmt.Fprintf(g.stderr, "nectar: %v\n", err)
			return &exitError{2}
		}
		req.Globals, _ = value.Encode(gl)
	}
	abs := ""
	if st, err := os.Stat(arg); err == nil && !st.IsDir() {
		data, err := os.ReadFile(arg)
		if err != nil {
			fmt.Fprintf(g.stderr, "nectar: %v\n", err)
			return &exitError{2}
		}
		// The absolute path: the server resolves the files the pipeline
		// names (a spec_file) from it, as a local run does.
		abs, _ = filepath.Abs(arg)
		req.Source, req.File = string(data), abs
	} else {
		req.Pipeline = arg
	}
	in, err := readInput(g, input)
	if err != nil {
		fmt.Fprintf(g.stderr, "nectar: %v\n", err)
		return &exitError{3}
	}
	req.Input, _ = value.Encode(in)
	vs, err := parseVars(vars)
	if err != nil {
		fmt.Fprintf(g.stderr, "nectar: %v\n", err)
		return &exitError{64}
	}
	if vs.Len() > 0 {
		req.Vars, _ = value.Encode(vs)
	}
	// Ctrl-C ends the request, and the server cancels the execution.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	var res server.RunResult
	err = c.do(ctx, http.MethodPost, "/api/run", req, &res)
	var se *apiStatusError
	if errors.As(err, &se) && (se.code == http.StatusBadRequest || se.code == http.StatusNotFound) {
		var le struct {
			Errors []struct {
				File  string `json:"file"`
				Line  int    `json:"line"`
				Col   int    `json:"col"`
				Path  string `json:"path"`
				Error string `json:"error"`
			} `json:"errors"`
		}
		if json.Unmarshal(se.body, &le) == nil && len(le.Errors) > 0 {
			for _, e := range le.Errors {
				file := e.File
				if file == abs || file == "" {
					file = arg
				}
				fmt.Fprintln(g.stderr, (&engine.LoadError{File: file, Path: e.Path, Line: e.Line, Col: e.Col, Err: errors.New(e.Error)}).Error())
			}
			return &exitError{2}
		}
		if req.Pipeline != "" && se.code == http.StatusNotFound {
			fmt.Fprintf(g.stderr, "nectar: %s: no such file, and nectar serve (which holds --data-dir %s) serves no pipeline of that name\n", arg, g.dataDir)
			return &exitError{2}
		}
	}
	if err != nil {
		fmt.Fprintf(g.stderr, "nectar: %v\n", err)
		return &exitError{1}
	}
	g.logger().Debug("ran on nectar serve", "addr", c.base, "execution_id", res.ExecutionID)
	if trace {
		printTrace(g.stderr, &engine.Trace{Steps: res.Trace})
	}
	if len(res.Error) > 0 {
		fmt.Fprintf(g.stderr, "%s\n", res.Error)
		return &exitError{1}
	}
	g.stdout.Write(append(res.Output, '\n'))
	return nil
}
