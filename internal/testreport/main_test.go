package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// module is a small module whose packages pass with skips, fail, have no
// tests and do not build.
var module = map[string]string{
	"go.mod": "module example.com/m\n\ngo 1.22\n",
	"a/a_test.go": `package a

import "testing"

func TestPass(t *testing.T) {}

func TestSkip(t *testing.T) { t.Skip("SKIP LOUDLY: no Docker engine") }

func TestSub(t *testing.T) {
	t.Run("parallel", func(t *testing.T) {
		t.Parallel()
		t.Skipf("two\nlines")
	})
	t.Run("passes", func(t *testing.T) { t.Parallel() })
}

func TestLong(t *testing.T) { t.Skip("1\n2\n3\n4\n5\n6\n7") }

func TestNoReason(t *testing.T) { t.SkipNow() }
`,
	"b/b_test.go": `package b

import "testing"

func TestFail(t *testing.T) {
	t.Log("before")
	t.Fatal("boom")
}

func TestSubFail(t *testing.T) {
	t.Run("x", func(t *testing.T) { t.Error("bad x") })
}

func TestSkip(t *testing.T) { t.Skip("no clang") }
`,
	"c/c.go":      "package c\n",
	"d/d_test.go": "package d\n\nfunc x( {\n",
}

// times are the durations in go test's output.
var times = regexp.MustCompile(`[0-9]+\.[0-9]+s`)

// TestRun runs the real go test on module through testreport, a package at
// a time so that they end in order.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test; skipped under -short")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("SKIP LOUDLY: no go tool on PATH: %v", err)
	}
	dir := t.TempDir()
	for name, text := range module {
		path := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	}
	t.Chdir(dir)
	t.Setenv("GOWORK", "off")
	t.Setenv("GOFLAGS", "-mod=mod")

	var stdout, stderr strings.Builder
	code := run([]string{goTool, "test", "-json", "-count=1", "-p=1", "./a", "./b", "./c"}, &stdout, &stderr)
	assert.Equal(t, 1, code)
	assert.Equal(t, "", stderr.String())
	assert.Equal(t, `ok  	example.com/m/a	T
--- FAIL: TestFail (T)
    b_test.go:6: before
    b_test.go:7: boom
--- FAIL: TestSubFail (T)
    --- FAIL: TestSubFail/x (T)
        b_test.go:11: bad x
FAIL
FAIL	example.com/m/b	T
?   	example.com/m/c	[no test files]

5 tests skipped:
--- SKIP: example.com/m/a TestLong
    a_test.go:17: 1
        2
        3
        4
        5
    (2 more lines)
--- SKIP: example.com/m/a TestNoReason
    (no reason given)
--- SKIP: example.com/m/a TestSkip
    a_test.go:7: SKIP LOUDLY: no Docker engine
--- SKIP: example.com/m/a TestSub/parallel
    a_test.go:12: two
        lines
--- SKIP: example.com/m/b TestSkip
    b_test.go:14: no clang
FAIL
`, times.ReplaceAllString(stdout.String(), "T"))

	t.Run("a build failure", func(t *testing.T) {
		var stdout, stderr strings.Builder
		code := run([]string{goTool, "test", "-json", "./d"}, &stdout, &stderr)
		assert.Equal(t, 1, code)
		assert.Equal(t, "# example.com/m/d\nd/d_test.go:3:9: expected ')', found '{'\nFAIL\texample.com/m/d [setup failed]\nFAIL\n", stdout.String())
	})
	t.Run("all pass", func(t *testing.T) {
		var stdout, stderr strings.Builder
		code := run([]string{goTool, "test", "-json", "-run", "TestPass", "./a"}, &stdout, &stderr)
		assert.Equal(t, 0, code)
		assert.Equal(t, "ok  \texample.com/m/a\tT\n", times.ReplaceAllString(stdout.String(), "T"))
	})
}

func TestUsage(t *testing.T) {
	var stdout, stderr strings.Builder
	assert.Equal(t, 2, run([]string{"go", "test", "./..."}, &stdout, &stderr))
	assert.Equal(t, "usage: testreport go test -json [flags] [packages]\n", stderr.String())
}
