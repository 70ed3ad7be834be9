// Package peers benchmarks weir's Wasm tools against the peers they must
// beat: a raw wazero call of the same guest function with the same bytes,
// and the same function called through Extism's Go SDK. It is a module of
// its own so that the peers never become dependencies of weir.
//
//	cd bench/peers && go run ./cmd/wasmbench
package peers
