package inspect

// Assets and PageHTML are what the pages are made of, for the tests that
// check them.
var (
	Assets   = assets
	PageHTML = pageHTML
)
