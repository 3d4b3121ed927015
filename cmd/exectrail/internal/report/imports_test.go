package report

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The package stays free of cgo and of everything outside the standard
// library (doc.go): its non-test files import only standard packages and
// package record (itself standard-library only).
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
			if p == "C" || strings.Contains(first, ".") && p != "github.com/exectrail/exectrail/supervisor/record" {
				t.Errorf("%s imports %q: package report must use the standard library (and package record) only", name, p)
			}
		}
	}
	if _, err := os.Stat("doc.go"); err != nil {
		t.Error("doc.go is missing")
	}
}
