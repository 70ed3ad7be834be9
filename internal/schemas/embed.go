package schemas

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/literal"
	"cuelang.org/go/cue/token"
)

// MaxEmbed bounds a file that an @embed attribute names.
const MaxEmbed = 4 << 20

// Embed is a file whose text a CUE flow takes as a field's value with
// CUE's own attribute: template: _ @embed(file="classify.jinja2", type=text).
type Embed struct {
	// Pos is where the attribute is.
	Pos Pos
	// Path is the file, resolved against the flow's folder; Written is
	// the path as the attribute writes it.
	Path, Written string
}

// embeds replaces the value of every field of f that carries an @embed
// attribute with the text of the file it names, and takes out the
// attributes, with the file's @extern(embed), which CUE asks for and
// weir does not need: CUE itself would refuse to build a file that is not
// in a CUE module. Problems are reported at the attribute. With
// Options.SkipEmbeds the files are not read, and such fields hold "".
func (d *decoder) embeds(f *ast.File) {
	decls := f.Decls[:0]
	for _, decl := range f.Decls {
		if a, ok := decl.(*ast.Attribute); ok {
			if name, body := a.Split(); name == "extern" && strings.TrimSpace(body) == "embed" {
				continue
			}
		}
		decls = append(decls, decl)
	}
	f.Decls = decls
	ast.Walk(f, func(n ast.Node) bool {
		field, ok := n.(*ast.Field)
		if !ok {
			return true
		}
		attrs := field.Attrs[:0]
		var at *ast.Attribute
		for _, a := range field.Attrs {
			if a.Name() == "embed" && at == nil {
				at = a
				continue
			}
			attrs = append(attrs, a)
		}
		if at == nil {
			return true
		}
		field.Attrs = attrs
		text, ok := d.embed(field, at)
		if !ok {
			// Reported: the field holds a string for the other checks.
			text = ""
		}
		field.Value = &ast.BasicLit{Kind: token.STRING, ValuePos: at.At, Value: literal.String.Quote(text)}
		return false
	}, nil)
}

// embed checks the attribute at of field and returns the text of the file
// it names, or "" with Options.SkipEmbeds.
func (d *decoder) embed(field *ast.Field, at *ast.Attribute) (string, bool) {
	pos := d.pos(at.At)
	args, err := attrArgs(at)
	if err != nil {
		d.errs.Add(pos, "@embed: %v", err)
		return "", false
	}
	file, hasFile := args["file"]
	for key := range args {
		switch key {
		case "file", "type":
		case "glob":
			d.errs.Add(pos, `@embed: glob is not supported: embed one file with file="NAME", type=text`)
			return "", false
		default:
			d.errs.Add(pos, `@embed: unknown argument %q: give file="NAME" and type=text`, key)
			return "", false
		}
	}
	if !hasFile || file == "" {
		d.errs.Add(pos, `@embed needs file="NAME", the path of a file in the flow's folder, as in @embed(file="prompt.jinja2", type=text)`)
		return "", false
	}
	what := fmt.Sprintf("embed %q", file)
	switch typ, ok := args["type"]; {
	case !ok:
		d.errs.Add(pos, "%s: add type=text: weir embeds a file as text only", what)
		return "", false
	case typ != "text":
		d.errs.Add(pos, "%s: type=%s is not supported: weir embeds a file as text only, with type=text", what, typ)
		return "", false
	}
	if id, ok := field.Value.(*ast.Ident); !ok || id.Name != "_" && id.Name != "string" {
		name, _, _ := ast.LabelName(field.Label)
		d.errs.Add(pos, "%s: the field's value must be _, the file's text, as in %s: _ @embed(file=%q, type=text)", what, name, file)
		return "", false
	}
	if filepath.IsAbs(file) || filepath.VolumeName(file) != "" || strings.HasPrefix(file, "/") {
		d.errs.Add(pos, "%s: the path is absolute: embedded files must be inside the flow's folder", what)
		return "", false
	}
	if !filepath.IsLocal(filepath.FromSlash(file)) {
		d.errs.Add(pos, "%s: the path leads out of the flow's folder: embedded files must be inside the flow's folder", what)
		return "", false
	}
	path := filepath.Join(d.dir, filepath.FromSlash(file))
	d.embedded = append(d.embedded, Embed{Pos: pos, Path: path, Written: file})
	if d.embedAt == nil {
		d.embedAt = map[Pos]string{}
	}
	d.embedAt[pos] = file
	if d.opts.SkipEmbeds {
		return "", true
	}
	text, err := readEmbed(path)
	if err != nil {
		d.errs.Add(pos, "%s: %v", what, err)
		return "", false
	}
	return text, true
}

// readEmbed reads the file at path, which must be a regular file of
// UTF-8 text no larger than MaxEmbed.
func readEmbed(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	if fi.Size() > MaxEmbed {
		return "", fmt.Errorf("%s is %d bytes, over the %d MiB limit of an embedded file", path, fi.Size(), MaxEmbed>>20)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxEmbed+1))
	if err != nil {
		return "", err
	}
	if len(b) > MaxEmbed {
		return "", fmt.Errorf("%s is over the %d MiB limit of an embedded file", path, MaxEmbed>>20)
	}
	if !utf8.Valid(b) {
		return "", fmt.Errorf("%s is not UTF-8 text (a bad byte at offset %d)", path, badUTF8(b))
	}
	return string(b), nil
}

// badUTF8 is the offset of the first byte of b that is not UTF-8.
func badUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// attrArgs returns the key=value arguments of the attribute at, as CUE
// reads them: a value may be a CUE string literal.
func attrArgs(at *ast.Attribute) (map[string]string, error) {
	v := cuecontext.New().CompileString("x: _ " + at.Text)
	a := v.LookupPath(cue.ParsePath("x")).Attribute("embed")
	if err := cmp.Or(v.Err(), a.Err()); err != nil {
		return nil, errors.New(firstLine(err))
	}
	args := map[string]string{}
	for arg := range a.Args(0) {
		if arg.Key == "" {
			return nil, fmt.Errorf("argument %q has no value: write key=value", arg.Value)
		}
		if _, dup := args[arg.Key]; dup {
			return nil, fmt.Errorf("argument %s given twice", arg.Key)
		}
		args[arg.Key] = arg.AsString()
	}
	return args, nil
}
