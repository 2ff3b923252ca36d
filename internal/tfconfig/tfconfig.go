// Package tfconfig reads a Terraform folder statically, for the contract
// tests that hold the Terraform and the Go code to each other
// (terraform/contract, the pipeline commands' flag tests): module blocks and
// their arguments, locals, variable defaults, and object literals (also
// through merge(...) and local references). What cannot be known without a
// plan — other modules' outputs, resource attributes — evaluates to unknown
// values instead of failing.
package tfconfig

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// Root is one Terraform folder (its *.tf files).
type Root struct {
	Dir    string
	blocks []*hclsyntax.Block
	ctx    *hcl.EvalContext
	locals map[string]hcl.Expression
}

// Load parses every .tf file of dir.
func Load(dir string) (*Root, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("tfconfig: no .tf files in %s", dir)
	}
	sort.Strings(files)
	r := &Root{Dir: dir, locals: map[string]hcl.Expression{}}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		file, diags := hclsyntax.ParseConfig(src, f, hcl.InitialPos)
		if diags.HasErrors() {
			return nil, fmt.Errorf("tfconfig: %s: %s", f, diags.Error())
		}
		body := file.Body.(*hclsyntax.Body)
		r.blocks = append(r.blocks, body.Blocks...)
		for _, b := range body.Blocks {
			if b.Type == "locals" {
				for name, a := range b.Body.Attributes {
					r.locals[name] = a.Expr
				}
			}
		}
	}
	r.ctx = r.evalContext()
	return r, nil
}

// Blocks returns the top-level blocks of a type ("module", "resource", ...)
// whose labels start with labels.
func (r *Root) Blocks(typ string, labels ...string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, b := range r.blocks {
		if b.Type != typ || len(b.Labels) < len(labels) {
			continue
		}
		match := true
		for i, l := range labels {
			match = match && b.Labels[i] == l
		}
		if match {
			out = append(out, b)
		}
	}
	return out
}

// Module returns the module block of that name, or nil.
func (r *Root) Module(name string) *hclsyntax.Block {
	if bs := r.Blocks("module", name); len(bs) > 0 {
		return bs[0]
	}
	return nil
}

// Attr returns a block's argument, or nil.
func Attr(b *hclsyntax.Block, name string) hcl.Expression {
	if b == nil {
		return nil
	}
	if a, ok := b.Body.Attributes[name]; ok {
		return a.Expr
	}
	return nil
}

// Local returns a local value's expression, or nil.
func (r *Root) Local(name string) hcl.Expression { return r.locals[name] }

// Eval evaluates an expression with the folder's variable defaults and
// locals; references it cannot resolve are unknown.
func (r *Root) Eval(expr hcl.Expression) (cty.Value, error) {
	v, diags := expr.Value(r.ctx)
	if diags.HasErrors() {
		return cty.DynamicVal, fmt.Errorf("tfconfig: %s", diags.Error())
	}
	return v, nil
}

// EvalString evaluates expr to a known string (numbers are formatted).
func (r *Root) EvalString(expr hcl.Expression) (string, error) {
	v, err := r.Eval(expr)
	if err != nil {
		return "", err
	}
	return ValueString(v)
}

// ValueString formats a known primitive value.
func ValueString(v cty.Value) (string, error) {
	if !v.IsWhollyKnown() || v.IsNull() {
		return "", fmt.Errorf("tfconfig: value is not known statically")
	}
	switch v.Type() {
	case cty.String:
		return v.AsString(), nil
	case cty.Number:
		return v.AsBigFloat().Text('f', -1), nil
	case cty.Bool:
		if v.True() {
			return "true", nil
		}
		return "false", nil
	}
	return "", fmt.Errorf("tfconfig: %s is not a primitive value", v.Type().FriendlyName())
}

// EvalPath evaluates a path such as module.dataflow.early_firing or
// module.bigtable.clusters[0].max_nodes: the module argument, then the rest
// of the path into its value.
func (r *Root) EvalPath(path string) (cty.Value, error) {
	tr, diags := hclsyntax.ParseTraversalAbs([]byte(path), "path", hcl.InitialPos)
	if diags.HasErrors() {
		return cty.DynamicVal, fmt.Errorf("tfconfig: path %q: %s", path, diags.Error())
	}
	if tr.RootName() != "module" || len(tr) < 3 {
		return cty.DynamicVal, fmt.Errorf("tfconfig: path %q: want module.NAME.ARGUMENT[...]", path)
	}
	mod, _ := tr[1].(hcl.TraverseAttr)
	arg, _ := tr[2].(hcl.TraverseAttr)
	expr := Attr(r.Module(mod.Name), arg.Name)
	if expr == nil {
		return cty.DynamicVal, fmt.Errorf("tfconfig: %s has no module %q with argument %q", r.Dir, mod.Name, arg.Name)
	}
	v, err := r.Eval(expr)
	if err != nil {
		return v, err
	}
	if len(tr) == 3 {
		return v, nil
	}
	out, diags := hcl.Traversal(tr[3:]).TraverseRel(v)
	if diags.HasErrors() {
		return cty.DynamicVal, fmt.Errorf("tfconfig: path %q: %s", path, diags.Error())
	}
	return out, nil
}

// ObjectItems returns the items of an object expression by key: an object
// literal, merge(...) of such (later arguments win), or a reference to a
// local that is one. Arguments it cannot see into (variables, module
// outputs) are skipped: the result is what the file states literally.
func (r *Root) ObjectItems(expr hcl.Expression) (map[string]hcl.Expression, error) {
	out := map[string]hcl.Expression{}
	switch e := expr.(type) {
	case *hclsyntax.ObjectConsExpr:
		for _, it := range e.Items {
			k, diags := it.KeyExpr.Value(nil)
			if diags.HasErrors() || k.Type() != cty.String {
				return nil, fmt.Errorf("tfconfig: object key at %s is not a literal string", it.KeyExpr.Range())
			}
			out[k.AsString()] = it.ValueExpr
		}
	case *hclsyntax.FunctionCallExpr:
		if e.Name != "merge" {
			return out, nil
		}
		for _, a := range e.Args {
			items, err := r.ObjectItems(a)
			if err != nil {
				return nil, err
			}
			for k, v := range items {
				out[k] = v
			}
		}
	case *hclsyntax.ScopeTraversalExpr:
		if e.Traversal.RootName() == "local" && len(e.Traversal) == 2 {
			name := e.Traversal[1].(hcl.TraverseAttr).Name
			if l := r.locals[name]; l != nil {
				return r.ObjectItems(l)
			}
		}
	}
	return out, nil
}

// IndexKey reads a reference of the form module.M.OUTPUT["key"] and
// returns M, OUTPUT and key.
func IndexKey(expr hcl.Expression) (module, output, key string, ok bool) {
	e, isTr := expr.(*hclsyntax.ScopeTraversalExpr)
	if !isTr || len(e.Traversal) != 4 || e.Traversal.RootName() != "module" {
		return "", "", "", false
	}
	m, ok1 := e.Traversal[1].(hcl.TraverseAttr)
	o, ok2 := e.Traversal[2].(hcl.TraverseAttr)
	i, ok3 := e.Traversal[3].(hcl.TraverseIndex)
	if !ok1 || !ok2 || !ok3 || i.Key.Type() != cty.String {
		return "", "", "", false
	}
	return m.Name, o.Name, i.Key.AsString(), true
}

// evalContext binds var (defaults; unknown without one), local (each local
// that evaluates; unknown otherwise) and module (unknown), with the
// functions these files use.
func (r *Root) evalContext() *hcl.EvalContext {
	vars := map[string]cty.Value{}
	for _, b := range r.Blocks("variable") {
		v := cty.DynamicVal
		if d := Attr(b, "default"); d != nil {
			if dv, diags := d.Value(nil); !diags.HasErrors() {
				v = dv
			}
		}
		vars[b.Labels[0]] = v
	}
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{
			"var":    cty.ObjectVal(vars),
			"module": cty.DynamicVal,
			"path":   cty.ObjectVal(map[string]cty.Value{"module": cty.StringVal(r.Dir)}),
		},
		Functions: map[string]function.Function{
			"merge": stdlib.MergeFunc, "concat": stdlib.ConcatFunc, "coalesce": stdlib.CoalesceFunc,
			"length": stdlib.LengthFunc, "tostring": stdlib.MakeToFunc(cty.String), "tonumber": stdlib.MakeToFunc(cty.Number),
			"toset": stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)), "tolist": stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
			"sort": stdlib.SortFunc, "keys": stdlib.KeysFunc, "distinct": stdlib.DistinctFunc, "upper": stdlib.UpperFunc,
			"lower": stdlib.LowerFunc, "jsonencode": stdlib.JSONEncodeFunc, "format": stdlib.FormatFunc,
		},
	}
	// Locals may refer to each other: evaluate until nothing new resolves.
	locals := map[string]cty.Value{}
	for name := range r.locals {
		locals[name] = cty.DynamicVal
	}
	for range len(r.locals) + 1 {
		ctx.Variables["local"] = cty.ObjectVal(locals)
		changed := false
		for name, expr := range r.locals {
			if locals[name].IsWhollyKnown() {
				continue
			}
			v, diags := expr.Value(ctx)
			if diags.HasErrors() || v.RawEquals(locals[name]) {
				continue
			}
			locals[name], changed = v, true
		}
		if !changed {
			break
		}
	}
	ctx.Variables["local"] = cty.ObjectVal(locals)
	return ctx
}

// Keys returns the sorted keys of m.
func Keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Strings evaluates expr to a list of known strings.
func (r *Root) Strings(expr hcl.Expression) ([]string, error) {
	v, err := r.Eval(expr)
	if err != nil {
		return nil, err
	}
	if !v.IsWhollyKnown() || !(v.Type().IsListType() || v.Type().IsTupleType() || v.Type().IsSetType()) {
		return nil, fmt.Errorf("tfconfig: %s is not a known list", strings.TrimSpace(string(expr.Range().Filename)))
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		s, err := ValueString(e)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}
