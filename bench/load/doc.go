// Package load puts a function or an HTTP endpoint under load and measures
// it: closed-loop clients that each call again once answered, or an
// open-loop schedule at a fixed rate whose latencies count from each call's
// intended start, so that a stalled server cannot hide the calls it delayed
// (coordinated omission, which wrk2 and vegeta avoid the same way).
//
// It is shared by the benchmark commands under bench/cmd and by weir bench
// (cmd/weir), which measures users' own flows with it: so it imports
// nothing of weir's and not the testing package, and its loads always end
// by themselves, bounded in calls or in time.
package load
