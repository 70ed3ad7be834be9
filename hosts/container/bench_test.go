package container

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/internal/hoststest"
)

// promptflowImageBytes is the size of prompt flow's serving image, the
// peer the image size is compared with (about 1.58 GB).
const promptflowImageBytes = 1.58e9

// BenchmarkDeploy measures the time from deploy to ready for the hello
// bundle: build the image, load it, start the container, wait for
// /readyz, as a new weir deploy process does (the binary's layer is not
// kept from one deploy to the next). The delete after each deploy is not
// timed. It reports the
// image's size compressed (what a registry stores and a node pulls) and
// uncompressed (what docker images shows), and each as a fraction of
// prompt flow's serving image.
//
//	go test -run=NONE -bench=Deploy -benchtime=5x ./hosts/container
func BenchmarkDeploy(b *testing.B) {
	engineOrSkip(b)
	h := &Host{Binary: hoststest.Weir(b)}
	req := hoststest.HelloRequest(b, "bench-hello")
	img, err := h.Image(req, "")
	require.NoError(b, err)
	layers, err := img.Layers()
	require.NoError(b, err)
	var compressed, uncompressed int64
	for _, l := range layers {
		n, err := l.Size()
		require.NoError(b, err)
		compressed += n
		rc, err := l.Uncompressed()
		require.NoError(b, err)
		uncompressed += count(b, rc)
	}
	ctx := context.Background()
	for b.Loop() {
		// As in a new weir deploy process, the binary's layer is built.
		binaryLayers.Clear()
		d, err := h.Deploy(ctx, req)
		require.NoError(b, err)
		b.StopTimer()
		require.NoError(b, h.Delete(ctx, d))
		b.StartTimer()
	}
	b.ReportMetric(float64(compressed)/1e6, "MB-compressed")
	b.ReportMetric(float64(uncompressed)/1e6, "MB-uncompressed")
	b.ReportMetric(float64(compressed)/promptflowImageBytes, "of-promptflow-compressed")
	b.ReportMetric(float64(uncompressed)/promptflowImageBytes, "of-promptflow-uncompressed")
}
