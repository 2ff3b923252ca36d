package contract

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// repo is the repository root (this package is terraform/contract).
var repo = filepath.Join("..", "..")

// pattern is a call the code makes: a package-level function or a method
// (".Name") of a package, the import of a package ("import": a runner
// registered by a blank import), or a string literal in the code.
type pattern struct {
	Import string // import path; empty for a string literal
	Name   string // "Func", ".Method", or the literal
}

func (p pattern) String() string {
	if p.Import == "" {
		return strconv.Quote(p.Name)
	}
	return p.Import + " " + p.Name
}

// found is what one Go file calls: functions as "import Func", methods as
// "import .Method" for every package the file imports, and its string
// literals.
type found map[pattern][]string // pattern → files

var (
	scanMu    sync.Mutex
	scanCache = map[string]found{}
)

// scan returns the patterns the module's own packages reachable from cmd
// (a package path relative to the repository, e.g. ./ingest/cmd/ingest)
// contain: go list -deps, then go/ast over each package's non-test files.
func scan(t *testing.T, cmd string) found {
	t.Helper()
	scanMu.Lock()
	defer scanMu.Unlock()
	if f, ok := scanCache[cmd]; ok {
		return f
	}
	c := exec.Command("go", "list", "-deps", "-f", `{{if not .Standard}}{{.ImportPath}}|{{.Name}}|{{.Dir}}|{{join .GoFiles ","}}{{end}}`, cmd)
	c.Dir = repo
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", cmd, err, stderr.String())
	}
	res := found{}
	root, err := filepath.Abs(repo)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	names := map[string]string{} // import path → package name
	for _, line := range lines {
		if parts := strings.SplitN(line, "|", 4); len(parts) == 4 {
			names[parts[0]] = parts[1]
		}
	}
	for _, line := range lines {
		parts := strings.SplitN(line, "|", 4)
		if len(parts) != 4 || !strings.HasPrefix(parts[0], "github.com/footfall/footfall/") || parts[3] == "" {
			continue
		}
		for _, name := range strings.Split(parts[3], ",") {
			path := filepath.Join(parts[2], name)
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			rel := strings.TrimPrefix(path, root+string(filepath.Separator))
			scanFile(f, rel, names, res)
		}
	}
	scanCache[cmd] = res
	return res
}

func scanFile(f *ast.File, rel string, names map[string]string, res found) {
	alias := map[string]string{} // local name → import path
	var imports []string
	for _, im := range f.Imports {
		p, _ := strconv.Unquote(im.Path.Value)
		imports = append(imports, p)
		name, ok := names[p]
		if !ok { // the standard library
			name = p[strings.LastIndex(p, "/")+1:]
		}
		if im.Name != nil {
			name = im.Name.Name
		}
		alias[name] = p
	}
	add := func(p pattern) {
		if l := res[p]; len(l) == 0 || l[len(l)-1] != rel {
			res[p] = append(l, rel)
		}
	}
	for _, p := range imports {
		add(pattern{p, "import"})
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			if id, ok := n.X.(*ast.Ident); ok {
				if p, ok := alias[id.Name]; ok {
					add(pattern{p, n.Sel.Name})
					return true
				}
			}
			for _, p := range imports {
				add(pattern{p, "." + n.Sel.Name})
			}
		case *ast.BasicLit:
			if n.Kind == token.STRING {
				if s, err := strconv.Unquote(n.Value); err == nil && len(s) < 200 {
					add(pattern{"", s})
				}
			}
		}
		return true
	})
}

// fileContains reports whether a repository file contains s (for callers
// that are not Go: cloudbuild.yaml).
func fileContains(t *testing.T, file, s string) bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repo, file))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(b, []byte(s))
}

func sortStrings(s []string) { sort.Strings(s) }
