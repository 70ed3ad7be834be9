package wasm

import "time"

// TrimIdle closes the instances idle for longer than d, as the pool's
// watchdog does every IdleTimeout/2, keeping the one used last.
func (pl *Plugin) TrimIdle(d time.Duration) { pl.pool.trim(time.Now().Add(-d).UnixNano()) }
