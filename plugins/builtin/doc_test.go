package builtin

import (
	"go/parser"
	"go/token"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/weirflow/weir/plugins"
)

// TestDocListsEveryTool keeps the package comment's list of tools true.
func TestDocListsEveryTool(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "doc.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	require.NoError(t, err)
	doc := f.Doc.Text()
	// The first sentence, which names the tools.
	first := regexp.MustCompile(`(?s)^.*?"builtin"`).FindString(doc)
	require.NotEmpty(t, first, "the package comment says which tools there are: %s", doc)
	for _, tool := range Tools(plugins.Grants{}) {
		name := tool.Contract().Name
		assert.Regexp(t, `\b`+name+`\b`, first, "the package comment leaves out %s", name)
	}
}
