package report

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// constStrings returns the string constants declared in the Go files
// matched by glob.
func constStrings(t *testing.T, glob string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(glob)
	if err != nil || len(files) == 0 {
		t.Fatalf("no files match %s: %v", glob, err)
	}
	out := map[string]string{}
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						v, err := strconv.Unquote(lit.Value)
						if err != nil {
							t.Fatal(err)
						}
						out[n.Name] = v
					}
				}
			}
		}
	}
	return out
}

// The field names here mirror supervisor/record.go: fieldX here is
// FieldX there, eventX is EventX, actionX is ActionX.
func TestFieldsMatchSupervisor(t *testing.T) {
	sup := constStrings(t, filepath.Join("..", "..", "..", "..", "supervisor", "record.go"))
	mine := constStrings(t, "fields.go")
	if len(mine) == 0 {
		t.Fatal("no constants in fields.go")
	}
	for name, v := range mine {
		i := strings.IndexFunc(name, func(r rune) bool { return r >= 'A' && r <= 'Z' })
		if i < 0 {
			t.Errorf("%s: unexpected name", name)
			continue
		}
		theirs := strings.ToUpper(name[:1]) + name[1:]
		got, ok := sup[theirs]
		switch {
		case !ok:
			t.Errorf("%s = %q has no %s in supervisor/record.go", name, v, theirs)
		case got != v:
			t.Errorf("%s = %q, but supervisor's %s = %q", name, v, theirs, got)
		}
	}
}

// The package stays free of cgo and of everything outside the standard
// library (doc.go): its non-test files import only standard packages.
func TestImportsStandardLibraryOnly(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(p, "/")
			if p == "C" || strings.Contains(first, ".") {
				t.Errorf("%s imports %q: package report must use the standard library only", name, p)
			}
		}
	}
	if _, err := os.Stat("doc.go"); err != nil {
		t.Error("doc.go is missing")
	}
}
