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
// package record, whose own non-test files import only standard packages
// (supervisor/record/doc.go).
func TestImportsStandardLibraryOnly(t *testing.T) {
	const recordPkg = "github.com/exectrail/exectrail/supervisor/record"
	for dir, allowed := range map[string]string{".": recordPkg, filepath.Join("..", "..", "..", "..", "supervisor", "record"): ""} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no Go files in %s: %v", dir, err)
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
				if p == "C" || strings.Contains(first, ".") && p != allowed {
					t.Errorf("%s imports %q: only the standard library (and, for package report, package record) may be imported", name, p)
				}
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "doc.go")); err != nil {
			t.Errorf("%s: doc.go is missing", dir)
		}
	}
}
