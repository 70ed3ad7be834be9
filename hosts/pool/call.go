package pool

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// callContext bounds one JetStream call of the pool by the connection's
// timeout, unless ctx ends sooner.
func (c *Conn) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.Timeout())
}

// fail words the error of a JetStream call: what was being done, and a
// cause a user can act on where NATS's own is terse.
func (c *Conn) fail(doing string, err error) error {
	switch {
	// A server without JetStream has no responder to its API's requests.
	case errors.Is(err, jetstream.ErrJetStreamNotEnabled), errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount), errors.Is(err, nats.ErrNoResponders):
		return fmt.Errorf("%s: JetStream is not enabled on the NATS server at %s: start it with -js (weir pool serve has it on)", doing, c.URL())
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		return fmt.Errorf("%s: the NATS server at %s did not answer within %s", doing, c.URL(), c.Timeout())
	case errors.Is(err, nats.ErrConnectionClosed):
		return fmt.Errorf("%s: the connection to NATS is closed", doing)
	}
	return fmt.Errorf("%s: %w", doing, err)
}
