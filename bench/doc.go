// Package bench measures weir against its peers and the physical limits, as
// ratios taken side by side in one run: on a shared, noisy machine absolute
// times drift but ratios hold.
//
// The Go benchmarks (go test -bench . ./bench) and the weirbench command
// (go run ./bench/cmd/weirbench) run the same scenarios; weirbench prints
// them as one table with the ratios.
package bench
