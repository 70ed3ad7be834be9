package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/plugins"
)

func TestHash(t *testing.T) {
	out, err := hashText(context.Background(), HashIn{Text: "abc"})
	require.NoError(t, err)
	assert.Equal(t, HashOut{Algorithm: "sha256", Hex: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}, out)

	out, err = hashText(context.Background(), HashIn{Text: "", Algorithm: "sha512"})
	require.NoError(t, err)
	assert.Equal(t, "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e", out.Hex)

	_, err = hashText(context.Background(), HashIn{Algorithm: "md5"})
	require.EqualError(t, err, `algorithm "md5": want sha256 or sha512`)
	assert.Equal(t, plugins.InvalidInput, plugins.KindOf(err))
}

func TestHashTool(t *testing.T) {
	tool := plugins.Func("hash", "", hashText)
	out, err := tool.Invoke(context.Background(), []byte(`{"text":"abc"}`))
	require.NoError(t, err)
	assert.Equal(t, `{"algorithm":"sha256","hex":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}`, string(out))
}
