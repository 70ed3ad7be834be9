package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// commands are every command line that has a --help, the root first.
var commands = [][]string{{}, {"validate"}, {"run"}, {"graph"}, {"schema"}, {"version"}}

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
	for _, cmd := range commands {
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
	t.Run("help --help", func(t *testing.T) {
		t.Parallel()
		got := weir(t, "", "help", "--help")
		require.Equal(t, 0, got.code)
		if examples(got.stdout) == nil {
			t.Skipf("bug: weir help --help (cobra's own help command) has no Examples section:\n%s", got.stdout)
		}
		t.Fatal("the help --help bug seems fixed: remove the skip")
	})
}

// knownBadExamples are examples in the help that fail, and why.
var knownBadExamples = map[string]string{
	"weir run examples/hello/flow.cue --input name=Ada --input times=2 -o json": `the hello flow has no input "times": the example exits 2 with "the flow has no input "times" (inputs: loud, name)"`,
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
				got := weir(t, "", args...)
				if bug, ok := knownBadExamples[line]; ok {
					if got.code != 0 {
						t.Skipf("bug: %s\nstderr: %s", bug, got.stderr)
					}
					t.Fatalf("the example works now: remove it from knownBadExamples")
				}
				assert.Equal(t, 0, got.code, "stderr: %s", got.stderr)
				assert.Empty(t, got.stderr)
				assert.NotEmpty(t, got.stdout)
			})
		}
	}
	assert.NotEmpty(t, seen)
}
