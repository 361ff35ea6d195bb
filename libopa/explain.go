package main

// golive_opa_explain: one evaluation with OPA's tracer on, answered as the trace events OPA's
// own `opa eval --explain` prints (topdown.Event: op, query and parent ids, location), each
// expression event with the values of the variables it names, as OPA's pretty printer shows
// them with ExprVariables. golive explain (controller/check/explain.py) turns them into "why
// this policy fired, or why not".

import "C"

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"
)

type explainRequest struct {
	Modules map[string]string `json:"modules"`
	Query   string            `json:"query"`
	Input   json.RawMessage   `json:"input"`
	NowNs   int64             `json:"now_ns"`
}

type traceEvent struct {
	Op       string            `json:"op"`
	QueryID  uint64            `json:"query_id"`
	ParentID uint64            `json:"parent_id"`
	File     string            `json:"file,omitempty"`
	Row      int               `json:"row,omitempty"`
	Text     string            `json:"text,omitempty"`
	Rule     bool              `json:"rule,omitempty"` // the node is a rule (Enter/Exit of its body)
	Vars     map[string]string `json:"vars,omitempty"`
}

// A value longer than this is cut: an explanation names values, it does not dump documents.
const maxValueLength = 240

func exprVariables(event *topdown.Event) map[string]string {
	expr, ok := event.Node.(*ast.Expr)
	if !ok || event.Locals == nil {
		return nil
	}
	vars := map[string]string{}
	// As OPA's pretty trace (exprLocalVars): the variables the rule's author named, under
	// their names; the compiler's own (__localN__, wildcards) are left out.
	ast.WalkVars(expr, func(v ast.Var) bool {
		meta, found := event.LocalMetadata[v]
		if !found || meta.Name.IsGenerated() || meta.Name.IsWildcard() {
			return false
		}
		name := string(meta.Name)
		if value := event.Locals.Get(v); value != nil {
			text := value.String()
			if len(text) > maxValueLength {
				text = text[:maxValueLength] + "…"
			}
			vars[name] = text
		}
		return false
	})
	if len(vars) == 0 {
		return nil
	}
	return vars
}

//export golive_opa_explain
func golive_opa_explain(request *C.char) *C.char {
	return guard(func() *C.char {
		var req explainRequest
		if failed := decode(request, "explain", &req); failed != nil {
			return failed
		}
		parsed, failed := parseModules(req.Modules)
		if failed != nil {
			return failed
		}
		tracer := topdown.NewBufferTracer()
		options := []func(*rego.Rego){rego.Query(req.Query), rego.QueryTracer(tracer), rego.Capabilities(sandbox())}
		for _, module := range parsed {
			options = append(options, rego.ParsedModule(module))
		}
		input, err := ast.ValueFromReader(bytes.NewReader(req.Input))
		if err != nil {
			return fail(codeInput, "the input is not JSON OPA can read: "+err.Error())
		}
		options = append(options, rego.ParsedInput(input), rego.Time(time.Unix(0, req.NowNs).UTC()))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		results, err := rego.New(options...).Eval(ctx)
		if err != nil {
			details := describeErrors(err)
			return fail(codeEval, summary(details), details...)
		}
		if results == nil {
			results = rego.ResultSet{}
		}
		events := []traceEvent{}
		for _, event := range *tracer {
			out := traceEvent{Op: string(event.Op), QueryID: event.QueryID, ParentID: event.ParentID}
			if event.Location != nil {
				out.File, out.Row, out.Text = event.Location.File, event.Location.Row, string(event.Location.Text)
			}
			_, out.Rule = event.Node.(*ast.Rule)
			out.Vars = exprVariables(event)
			events = append(events, out)
		}
		return answer(map[string]any{"result": results, "events": events})
	})
}
