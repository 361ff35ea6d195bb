// Package main exports OPA's own Rego evaluator as a C shared library, so golive's embedded
// engine (controller/engine/embedded.py, through ctypes) decides exactly as `opa` does, in the
// operator's own process, with no server.
//
// Every function takes and returns JSON text. Answers are {"...": ...} on success or
// {"error": {"code": ..., "message": ..., "errors": [...]}}; the caller frees each answer with
// golive_opa_free. A Go panic inside a call is recovered and answered as code "panic".
//
// Built by setup.py: `go build -buildmode=c-shared` (CGO_ENABLED=1).
package main

/*
#include <stdlib.h>
*/
import "C"

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/open-policy-agent/opa/v1/version"
)

func main() {} // required by -buildmode=c-shared; never runs

// Each evaluation allocates a few hundred KB on a heap of a few MB, so Go's default GOGC=100
// collects every few evaluations; 400 halved the p90 of a decision on the full library
// (1.7 -> 1.0 ms) for a few MB more memory. A GOGC set by the user wins.
func init() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}

// Error codes the Python side maps to its exceptions.
const (
	codeRequest = "request" // the caller's JSON could not be read (a bug in golive)
	codeCompile = "compile" // a module does not parse or compile, or uses a refused builtin
	codeEval    = "eval"    // evaluation failed (conflict, type error in strict mode...)
	codeTimeout = "timeout" // the deadline passed before evaluation finished
	codeInput   = "input"   // the input is not JSON OPA can read
	codeHandle  = "handle"  // an unknown or released handle
	codePanic   = "panic"   // a Go panic was recovered
)

type detail struct {
	Message string `json:"message"`
	File    string `json:"file,omitempty"`
	Row     int    `json:"row,omitempty"`
	Col     int    `json:"col,omitempty"`
}

type failure struct {
	Code    string   `json:"code"`
	Message string   `json:"message"`
	Errors  []detail `json:"errors,omitempty"`
}

func answer(value any) *C.char {
	text, err := json.Marshal(value)
	if err != nil {
		text, _ = json.Marshal(map[string]failure{"error": {Code: codeEval, Message: "cannot encode the answer: " + err.Error()}})
	}
	return C.CString(string(text))
}

func fail(code, message string, details ...detail) *C.char {
	return answer(map[string]failure{"error": {Code: code, Message: message, Errors: details}})
}

// guard turns a panic in fn into a "panic" answer instead of ending the process.
func guard(fn func() *C.char) (out *C.char) {
	defer func() {
		if r := recover(); r != nil {
			out = fail(codePanic, fmt.Sprintf("the embedded OPA panicked: %v\n%s", r, debug.Stack()))
		}
	}()
	return fn()
}

// ---------------------------------------------------------------------------------------------
// The sandbox: builtins a go-live decision must not use, refused when a bundle is compiled.
// ---------------------------------------------------------------------------------------------

// refusedBuiltins maps a builtin (or a "prefix.") to why it is refused. A decision must depend
// only on its input and policies: nothing from the network, the files or the environment of the
// process, and nothing random (the webhook, the reconcile gate and `golive check` must agree).
// Kept on purpose: time.now_ns (golive sets the evaluation time to its decision time),
// io.jwt.*, crypto.* and providers.aws.* (they work on what they are given, fetch nothing).
var refusedBuiltins = map[string]string{
	"http.send":    "it makes network calls",
	"net.":         "net.* is refused as a family (net.lookup_ip_addr resolves names over the network)",
	"opa.runtime":  "it exposes the process's environment and configuration",
	"rand.intn":    "it makes decisions irreproducible",
	"uuid.rfc4122": "it makes decisions irreproducible",
}

func refusalOf(name string) (string, bool) {
	for key, why := range refusedBuiltins {
		if name == key || (strings.HasSuffix(key, ".") && strings.HasPrefix(name, key)) {
			return why, true
		}
	}
	return "", false
}

var sandbox = sync.OnceValue(func() *ast.Capabilities {
	caps := ast.CapabilitiesForThisVersion()
	kept := caps.Builtins[:0]
	for _, b := range caps.Builtins {
		if _, refused := refusalOf(b.Name); !refused {
			kept = append(kept, b)
		}
	}
	caps.Builtins = kept
	caps.AllowNet = []string{} // no host may be reached, even if http.send came back
	return caps
})

// describeErrors names module, line and column, and says why a refused builtin is refused
// where OPA's compiler only says "undefined function".
func describeErrors(err error) []detail {
	var astErrors ast.Errors
	if !errors.As(err, &astErrors) {
		return []detail{{Message: err.Error()}}
	}
	out := make([]detail, 0, len(astErrors))
	for _, e := range astErrors {
		d := detail{Message: e.Code + ": " + e.Message}
		if name, ok := strings.CutPrefix(e.Message, "undefined function "); ok {
			if why, refused := refusalOf(name); refused {
				d.Message = fmt.Sprintf("builtin %s is refused by golive: %s", name, why)
			}
		}
		if e.Location != nil {
			d.File, d.Row, d.Col = e.Location.File, e.Location.Row, e.Location.Col
		}
		out = append(out, d)
	}
	return out
}

func summary(details []detail) string {
	parts := make([]string, 0, len(details))
	for _, d := range details {
		if d.File != "" {
			parts = append(parts, fmt.Sprintf("%s:%d:%d: %s", d.File, d.Row, d.Col, d.Message))
		} else {
			parts = append(parts, d.Message)
		}
	}
	return strings.Join(parts, "; ")
}

// ---------------------------------------------------------------------------------------------
// Prepared queries behind handles.
// ---------------------------------------------------------------------------------------------

var (
	handlesMu  sync.RWMutex
	handles    = map[int64]*rego.PreparedEvalQuery{}
	nextHandle int64
)

type prepareRequest struct {
	Modules map[string]string `json:"modules"`
	Query   string            `json:"query"`
	Data    json.RawMessage   `json:"data"`
	// Sandbox false compiles with OPA's full capabilities (the conformance suite); golive's
	// own bundles are always compiled with the sandbox.
	Sandbox *bool `json:"sandbox"`
}

// decode reads a JSON request into req; a non-nil answer is the error to return.
func decode(request *C.char, what string, req any) *C.char {
	if err := json.Unmarshal([]byte(C.GoString(request)), req); err != nil {
		return fail(codeRequest, what+" request: "+err.Error())
	}
	return nil
}

// parseModules parses every module with OPA's parser (METADATA included); a non-nil answer is
// the compile error to return, naming each module, row and column.
func parseModules(modules map[string]string) (map[string]*ast.Module, *C.char) {
	names := make([]string, 0, len(modules))
	for name := range modules {
		names = append(names, name)
	}
	sort.Strings(names)
	parsed := make(map[string]*ast.Module, len(modules))
	var details []detail
	for _, name := range names {
		module, err := ast.ParseModuleWithOpts(name, modules[name], ast.ParserOptions{ProcessAnnotation: true})
		if err != nil {
			details = append(details, describeErrors(err)...)
			continue
		}
		parsed[name] = module
	}
	if len(details) > 0 {
		return nil, fail(codeCompile, summary(details), details...)
	}
	return parsed, nil
}

//export golive_opa_prepare
func golive_opa_prepare(request *C.char) *C.char {
	return guard(func() *C.char {
		var req prepareRequest
		if failed := decode(request, "prepare", &req); failed != nil {
			return failed
		}
		parsed, failed := parseModules(req.Modules)
		if failed != nil {
			return failed
		}
		options := []func(*rego.Rego){rego.Query(req.Query)}
		for _, module := range parsed {
			options = append(options, rego.ParsedModule(module))
		}
		if req.Sandbox == nil || *req.Sandbox {
			options = append(options, rego.Capabilities(sandbox()))
		}
		if len(req.Data) > 0 {
			// Numbers stay exact (json.Number), as OPA keeps them; float64 would round them.
			decoder := json.NewDecoder(bytes.NewReader(req.Data))
			decoder.UseNumber()
			var data map[string]any
			if err := decoder.Decode(&data); err != nil {
				return fail(codeRequest, "prepare request: data: "+err.Error())
			}
			options = append(options, rego.Store(inmem.NewFromObject(data)))
		}
		prepared, err := rego.New(options...).PrepareForEval(context.Background())
		if err != nil {
			details := describeErrors(err)
			return fail(codeCompile, summary(details), details...)
		}
		handlesMu.Lock()
		nextHandle++
		handle := nextHandle
		handles[handle] = &prepared
		handlesMu.Unlock()
		return answer(map[string]int64{"handle": handle})
	})
}

//export golive_opa_release
func golive_opa_release(handle C.longlong) {
	handlesMu.Lock()
	delete(handles, int64(handle))
	handlesMu.Unlock()
}

// golive_opa_eval evaluates a prepared query on one input (JSON text of inputLen bytes).
// nowNs is the evaluation time seen by time.now_ns (golive's decision time); timeoutNs > 0 is
// the deadline. The answer is {"result": <the rego.ResultSet as `opa eval` prints it>}.
//
//export golive_opa_eval
func golive_opa_eval(handle C.longlong, input *C.char, inputLen C.int, nowNs C.longlong, timeoutNs C.longlong) *C.char {
	return guard(func() *C.char {
		handlesMu.RLock()
		prepared, ok := handles[int64(handle)]
		handlesMu.RUnlock()
		if !ok {
			return fail(codeHandle, fmt.Sprintf("no prepared query with handle %d", int64(handle)))
		}
		options := []rego.EvalOption{rego.EvalTime(time.Unix(0, int64(nowNs)).UTC())}
		if inputLen > 0 {
			text := C.GoBytes(unsafe.Pointer(input), inputLen)
			value, err := ast.ValueFromReader(bytes.NewReader(text))
			if err != nil {
				return fail(codeInput, "the input is not JSON OPA can read: "+err.Error())
			}
			options = append(options, rego.EvalParsedInput(value))
		}
		ctx := context.Background()
		if timeoutNs > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, time.Duration(timeoutNs))
			defer cancel()
		}
		results, err := prepared.Eval(ctx, options...)
		if err != nil {
			var topdownError *topdown.Error
			if errors.As(err, &topdownError) && topdownError.Code == topdown.CancelErr {
				return fail(codeTimeout, fmt.Sprintf("evaluation passed its deadline of %s", time.Duration(timeoutNs)))
			}
			return fail(codeEval, err.Error())
		}
		if results == nil {
			results = rego.ResultSet{}
		}
		return answer(map[string]rego.ResultSet{"result": results})
	})
}

// ---------------------------------------------------------------------------------------------
// Module facts (package, rules, METADATA) from OPA's own parser.
// ---------------------------------------------------------------------------------------------

type moduleFacts struct {
	Package     string             `json:"package"`
	Rules       []string           `json:"rules"`
	Annotations []*ast.Annotations `json:"annotations"`
}

// golive_opa_inspect parses modules ({"name": "text"}) and answers {"modules": {name: facts}}
// with each module's package, rule names and METADATA annotations as OPA reads them.
//
//export golive_opa_inspect
func golive_opa_inspect(request *C.char) *C.char {
	return guard(func() *C.char {
		var modules map[string]string
		if failed := decode(request, "inspect", &modules); failed != nil {
			return failed
		}
		parsed, failed := parseModules(modules)
		if failed != nil {
			return failed
		}
		out := make(map[string]moduleFacts, len(parsed))
		for name, module := range parsed {
			facts := moduleFacts{
				Package:     strings.TrimPrefix(module.Package.Path.String(), "data."),
				Rules:       []string{},
				Annotations: module.Annotations,
			}
			seen := map[string]bool{}
			for _, rule := range module.Rules {
				ruleName := rule.Head.Ref().String()
				if !seen[ruleName] {
					seen[ruleName] = true
					facts.Rules = append(facts.Rules, ruleName)
				}
			}
			if facts.Annotations == nil {
				facts.Annotations = []*ast.Annotations{}
			}
			out[name] = facts
		}
		return answer(map[string]any{"modules": out})
	})
}

// ---------------------------------------------------------------------------------------------
// Rego unit tests, as `opa test` runs them.
// ---------------------------------------------------------------------------------------------

type testRequest struct {
	Modules        map[string]string `json:"modules"`
	TimeoutSeconds float64           `json:"timeout_seconds"`
}

type testResult struct {
	Package  string `json:"package"`
	Name     string `json:"name"`
	Outcome  string `json:"outcome"` // pass, fail, error, skip
	Message  string `json:"message,omitempty"`
	File     string `json:"file,omitempty"`
	Row      int    `json:"row,omitempty"`
	Duration int64  `json:"duration_ns"`
}

// golive_opa_test runs every test_* rule of the modules with OPA's own test runner, in the
// same sandbox as golive's bundles, and answers {"results": [...]}.
//
//export golive_opa_test
func golive_opa_test(request *C.char) *C.char {
	return guard(func() *C.char {
		var req testRequest
		if failed := decode(request, "test", &req); failed != nil {
			return failed
		}
		parsed, failed := parseModules(req.Modules)
		if failed != nil {
			return failed
		}
		ctx := context.Background()
		store := inmem.New()
		txn, err := store.NewTransaction(ctx)
		if err != nil {
			return fail(codeEval, err.Error())
		}
		defer store.Abort(ctx, txn)
		timeout := time.Duration(req.TimeoutSeconds * float64(time.Second))
		if timeout <= 0 {
			timeout = 5 * time.Second // opa test's default
		}
		compiler := ast.NewCompiler().WithCapabilities(sandbox()).WithEnablePrintStatements(false)
		runner := tester.NewRunner().SetCompiler(compiler).SetStore(store).SetModules(parsed).SetTimeout(timeout)
		channel, err := runner.RunTests(ctx, txn)
		if err != nil {
			details := describeErrors(err)
			return fail(codeCompile, summary(details), details...)
		}
		results := []testResult{}
		for r := range channel {
			result := testResult{Package: strings.TrimPrefix(r.Package, "data."), Name: r.Name, Duration: int64(r.Duration)}
			if r.Location != nil {
				result.File, result.Row = r.Location.File, r.Location.Row
			}
			switch {
			case r.Skip:
				result.Outcome = "skip"
			case r.Error != nil:
				result.Outcome, result.Message = "error", r.Error.Error()
			case r.Fail:
				result.Outcome = "fail"
				if r.FailedAt != nil {
					result.Message = "failed at " + r.FailedAt.String()
				}
			default:
				result.Outcome = "pass"
			}
			results = append(results, result)
		}
		return answer(map[string]any{"results": results})
	})
}

//export golive_opa_version
func golive_opa_version() *C.char {
	return C.CString(version.Version)
}

//export golive_opa_free
func golive_opa_free(text *C.char) {
	C.free(unsafe.Pointer(text))
}
