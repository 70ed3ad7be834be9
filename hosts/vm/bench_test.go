package vm

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/internal/hoststest"
)

// BenchmarkDeploy measures the time from deploy to ready for the hello
// bundle on the loopback sshd of .ci/sshd: connect, check the VM, upload
// the binary and the bundle, install, start weir serve under the
// supervisor, wait for /readyz through the SSH connection. The delete
// after each deploy (which removes the install folder, so that every
// deploy uploads) is not timed.
//
//	eval "$(.ci/sshd)"; go test -run=NONE -bench=Deploy -benchtime=5x ./hosts/vm
func BenchmarkDeploy(b *testing.B) {
	h := newHost(b, sshServer(b))
	req := hoststest.HelloRequest(b, "bench-hello")
	ctx := context.Background()
	for b.Loop() {
		d, err := h.Deploy(ctx, req)
		require.NoError(b, err)
		b.StopTimer()
		require.NoError(b, h.Delete(ctx, d))
		b.StartTimer()
	}
}
