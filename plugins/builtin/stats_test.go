package builtin

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStats(t *testing.T) {
	tool := statsTool()
	cases := []struct {
		in, want string
	}{
		{`{"values":[1,2,3,null,6]}`, `{"count":4,"sum":12,"mean":3,"min":1,"max":6}`},
		{`{"values":[true,false,true,true]}`, `{"count":4,"sum":3,"mean":0.75,"min":0,"max":1}`},
		{`{"values":[]}`, `{"count":0,"sum":0,"mean":0,"min":0,"max":0}`},
		{`{"values":[null]}`, `{"count":0,"sum":0,"mean":0,"min":0,"max":0}`},
		{`{"values":["4", " 2.5 "]}`, `{"count":2,"sum":6.5,"mean":3.25,"min":2.5,"max":4}`},
	}
	for _, c := range cases {
		out, err := tool.Invoke(context.Background(), []byte(c.in))
		require.NoError(t, err, c.in)
		assert.JSONEq(t, c.want, string(out), c.in)
	}
	_, err := tool.Invoke(context.Background(), []byte(`{"values":[1,"two"]}`))
	assert.EqualError(t, err, `values[1]: want a number, a boolean or null, got "two"`)
}
