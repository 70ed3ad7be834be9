package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// commands are the command lines whose help examples run as they are
// written, the root first.
var commands = [][]string{
	{}, {"validate"}, {"run"}, {"graph"}, {"plugin"}, {"plugin", "describe"}, {"plugin", "new"},
	{"schema"}, {"version"}, {"help"},
}

// setupCommands have examples that need something first (a run id, a
// dataset, a server, a bundle): their own tests run those.
var setupCommands = [][]string{
	{"batch"}, {"runs"}, {"runs", "list"}, {"runs", "show"}, {"runs", "outputs"}, {"runs", "delete"},
	{"bundle"}, {"bundle", "inspect"}, {"serve"}, {"deploy"}, {"probe"},
	{"deployments"}, {"deployments", "list"}, {"deployments", "status"}, {"deployments", "logs"}, {"deployments", "delete"},
	{"pool"}, {"pool", "serve"}, {"pool", "create"}, {"pool", "list"}, {"pool", "status"}, {"pool", "delete"},
	{"ui"},
}

// examples returns the lines of the Examples section of a help text.
func examples(help string) []string {
	_, section, ok := strings.Cut(help, "\nExamples:\n")
	if !ok {
		return nil
	}
	var lines []string
	for _, l := range strings.Split(section, "\n") {
		if !strings.HasPrefix(l, "  ") {
			break
		}
		lines = append(lines, strings.TrimSpace(l))
	}
	return lines
}

func TestHelp(t *testing.T) {
	t.Parallel()
	for _, cmd := range append(append([][]string{}, commands...), setupCommands...) {
		for _, flag := range []string{"--help", "-h"} {
			args := append(append([]string{}, cmd...), flag)
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				t.Parallel()
				got := weir(t, "", args...)
				assert.Equal(t, 0, got.code)
				assert.Empty(t, got.stderr)
				assert.Contains(t, got.stdout, "\nUsage:\n  weir ")
				ex := examples(got.stdout)
				require.NotEmpty(t, ex, "no Examples section in:\n%s", got.stdout)
				for _, l := range ex {
					assert.True(t, strings.HasPrefix(l, "weir "+strings.Join(cmd, " ")), "example %q is not for this command", l)
				}
			})
		}
	}
	t.Run("help run", func(t *testing.T) {
		t.Parallel()
		assert.Equal(t, weir(t, "", "run", "--help"), weir(t, "", "help", "run"))
	})
	t.Run("no command", func(t *testing.T) {
		t.Parallel()
		got := weir(t, "")
		assert.Equal(t, result{0, weir(t, "", "--help").stdout, ""}, got)
	})
	t.Run("help plugin describe", func(t *testing.T) {
		t.Parallel()
		assert.Equal(t, weir(t, "", "plugin", "describe", "--help"), weir(t, "", "help", "plugin", "describe"))
	})
	t.Run("help", func(t *testing.T) {
		t.Parallel()
		assert.Equal(t, weir(t, "", "--help"), weir(t, "", "help"))
	})
	t.Run("plugin", func(t *testing.T) {
		t.Parallel()
		assert.Equal(t, weir(t, "", "plugin", "--help"), weir(t, "", "plugin"))
	})
}

// Every example the help shows works as written.
func TestHelpExamples(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, cmd := range commands {
		help := weir(t, "", append(append([]string{}, cmd...), "--help")...)
		for _, line := range examples(help.stdout) {
			if seen[line] {
				continue
			}
			seen[line] = true
			t.Run(line, func(t *testing.T) {
				t.Parallel()
				// The command up to a pipe is weir's part.
				command, _, _ := strings.Cut(line, " | ")
				require.NotContains(t, command, "'", "teach this test to split quoted words")
				require.NotContains(t, command, `"`, "teach this test to split quoted words")
				words := strings.Fields(command)
				require.Equal(t, "weir", words[0])
				args := words[1:]
				for i, a := range args {
					if strings.HasPrefix(a, "examples/") {
						args[i] = "../../" + a
					}
				}
				if len(args) > 2 && args[0] == "plugin" && args[1] == "new" {
					args = scaffoldIn(t, args)
				}
				got := weir(t, "", args...)
				assert.Equal(t, 0, got.code, "stderr: %s", got.stderr)
				assert.Empty(t, got.stderr)
				assert.NotEmpty(t, got.stdout)
			})
		}
	}
	assert.NotEmpty(t, seen)
}

// scaffoldIn makes the plugin new command line args write into a temporary
// folder, its --dir, which it adds when args has none; its --weir, which
// must name weir's source, becomes this repository.
func scaffoldIn(t *testing.T, args []string) []string {
	t.Helper()
	tmp := t.TempDir()
	args = append([]string(nil), args...)
	hasDir := false
	for i := 2; i < len(args)-1; i++ {
		switch args[i] {
		case "--dir":
			args[i+1] = filepath.Join(tmp, args[i+1])
			hasDir = true
		case "--weir":
			root, err := filepath.Abs("../..")
			require.NoError(t, err)
			args[i+1] = root
		}
	}
	if !hasDir {
		args = append(args[:2], append([]string{"--dir", tmp}, args[2:]...)...)
	}
	return args
}
