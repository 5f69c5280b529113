package config

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// TestEveryKeyDocumented is the guarantee that every key has help text, a
// type, an environment variable and a default Set accepts.
func TestEveryKeyDocumented(t *testing.T) {
	t.Parallel()
	keys := Keys()
	if len(keys) == 0 {
		t.Fatal("Keys is empty")
	}
	for _, k := range keys {
		if strings.TrimSpace(k.Doc) == "" {
			t.Errorf("%s has no doc tag", k.Name)
		}
		if k.Type == "" || k.Env != "CAREPOST_"+strings.ToUpper(strings.ReplaceAll(k.Name, ".", "_")) {
			t.Errorf("%s: type %q, env %q", k.Name, k.Type, k.Env)
		}
		c := Defaults()
		if err := c.Set(k.Name, k.Default); err != nil {
			t.Errorf("Set(%q, default %q): %v", k.Name, k.Default, err)
		} else if !reflect.DeepEqual(c, Defaults()) {
			t.Errorf("Set(%q, default %q) changed the config", k.Name, k.Default)
		}
	}
}

// TestDocCommentsMatch keeps each field's doc comment, its doc tag and
// Defaults in step: the comment must contain the tag's text and end by
// stating the default as a TOML value equal to Defaults'.
func TestDocCommentsMatch(t *testing.T) {
	t.Parallel()
	comments := fieldComments(t)
	def := reflect.ValueOf(Defaults()).Elem()
	root := reflect.TypeFor[Config]()
	for _, sec := range reflect.VisibleFields(root) {
		if tomlName(sec) == "" {
			continue
		}
		if comments[root.Name()+"."+sec.Name] == "" {
			t.Errorf("Config.%s has no doc comment", sec.Name)
		}
		for _, f := range reflect.VisibleFields(sec.Type) {
			if tomlName(f) == "" {
				continue
			}
			key := tomlName(sec) + "." + tomlName(f)
			comment := comments[sec.Type.Name()+"."+f.Name]
			if comment == "" {
				t.Errorf("%s (%s.%s) has no doc comment", key, sec.Type.Name(), f.Name)
				continue
			}
			if doc := strings.Join(strings.Fields(f.Tag.Get("doc")), " "); !strings.Contains(comment, doc) {
				t.Errorf("%s: doc comment %q does not contain the doc tag %q", key, comment, doc)
			}
			_, literal, ok := strings.Cut(comment, "Default: ")
			if !ok {
				t.Errorf("%s: doc comment does not end with \"Default: <TOML value>.\": %q", key, comment)
				continue
			}
			literal = strings.TrimSuffix(literal, ".")
			got, err := decodeLiteral(f.Type, literal)
			if err != nil {
				t.Errorf("%s: doc comment states default %s: %v", key, literal, err)
				continue
			}
			if want := format(def.FieldByIndex(append(sec.Index, f.Index...))); got != want {
				t.Errorf("%s: doc comment says the default is %s, Defaults has %q", key, literal, want)
			}
		}
	}
}

// fieldComments maps "Type.Field" to the whitespace-normalised doc comment
// of every struct field declared in the package's non-test files.
func fieldComments(t *testing.T) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	fset := token.NewFileSet()
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, e.Name(), nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			if st, ok := ts.Type.(*ast.StructType); ok {
				for _, f := range st.Fields.List {
					for _, name := range f.Names {
						out[ts.Name.Name+"."+name.Name] = strings.Join(strings.Fields(f.Doc.Text()), " ")
					}
				}
			}
			return true
		})
	}
	return out
}

// decodeLiteral decodes a TOML value into a value of type typ and formats
// it the way Keys formats defaults.
func decodeLiteral(typ reflect.Type, literal string) (string, error) {
	holder := reflect.New(reflect.StructOf([]reflect.StructField{{Name: "V", Type: typ, Tag: `toml:"v"`}}))
	if _, err := toml.Decode("v = "+literal, holder.Interface()); err != nil {
		return "", fmt.Errorf("not a TOML value of type %s: %w", typ, err)
	}
	return format(holder.Elem().Field(0)), nil
}
