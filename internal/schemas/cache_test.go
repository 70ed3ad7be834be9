package schemas_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/internal/schemas"
)

func TestCache(t *testing.T) {
	for _, tc := range []struct {
		file string
		col  int // of the defaults' cache
		src  string
	}{
		{"flow.cue", 18, `name: "x"
defaults: cache: {ttl: "24h"}
nodes: {
	a: {tool: "t.x", cache: true}
	b: {tool: "t.x", cache: false}
	c: {tool: "t.x", cache: {ttl: "90m"}}
	d: {tool: "t.x", cache: {}}
	e: {tool: "t.x"}
}
outputs: o: "${a.output}"
`},
		{"flow.yaml", 19, `name: x
defaults: {cache: {ttl: 24h}}
nodes:
  a: {tool: t.x, cache: true}
  b: {tool: t.x, cache: false}
  c: {tool: t.x, cache: {ttl: 90m}}
  d: {tool: t.x, cache: {}}
  e: {tool: t.x}
outputs: {o: "${a.output}"}
`},
	} {
		f, err := schemas.Parse(tc.file, []byte(tc.src))
		require.NoError(t, err, tc.file)
		got := map[string]*schemas.Cache{}
		for _, n := range f.Nodes {
			if n.Cache != nil {
				c := *n.Cache
				c.Pos = schemas.Pos{}
				got[n.Name] = &c
			}
		}
		assert.Equal(t, map[string]*schemas.Cache{
			"a": {On: true}, "b": {On: false}, "c": {On: true, TTL: 90 * time.Minute}, "d": {On: true},
		}, got, tc.file)
		require.NotNil(t, f.Defaults.Cache, tc.file)
		assert.Equal(t, schemas.Cache{Pos: schemas.Pos{File: tc.file, Line: 2, Col: tc.col}, On: true, TTL: 24 * time.Hour}, *f.Defaults.Cache, tc.file)
	}
}

func TestCacheErrors(t *testing.T) {
	_, err := schemas.Parse("flow.cue", []byte(`name: "x"
defaults: cache: {ttl: "24h", size: 3}
nodes: {
	a: {tool: "t.x", cache: "yes"}
	b: {tool: "t.x", cache: {ttl: "1 day"}}
	c: {tool: "t.x", cache: {ttl: 60}}
	d: {tool: "t.x", cache: {ttl: "0s"}}
	e: {tool: "t.x", cache: [true]}
}
outputs: o: "${a.output}"
`))
	assert.Equal(t, []string{
		`flow.cue:2:31: defaults.cache: unknown field "size"; allowed: ttl`,
		`flow.cue:4:26: node "a": cache: want true, false or {ttl: "24h"}, got "yes"`,
		`flow.cue:5:32: node "b": cache.ttl: want a duration such as "24h" or "90m", got "1 day"`,
		`flow.cue:6:32: node "c": cache.ttl: want a duration such as "24h" or "90m", got 60`,
		`flow.cue:7:32: invalid duration "0s": use a positive Go duration such as "250ms", "2s" or "1m30s"`,
		`flow.cue:8:26: node "e": cache: want true, false or {ttl: "24h"}, got [true]`,
	}, errLines(t, err))
}
