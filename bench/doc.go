// Package bench measures weir against its peers and the physical limits, as
// ratios taken side by side in one run: on a shared, noisy machine absolute
// times drift but ratios hold.
//
// The commands under bench/cmd print their scenarios as tables with the
// ratios, and the Go benchmarks (go test -bench . ./bench) run the
// engine's and the batches' with the same code:
//
//   - weirbench: runs of no-op flows against the tool calls they make;
//   - pluginbench: go-plugin tools against raw go-plugin calls;
//   - loadbench: weir validate of flows of 1k and 10k nodes, time and
//     memory, as ratios of 10k over 1k (linear is 10x);
//   - batchbench: a batch's lines per second, run record included, against
//     the same tool calls made directly, and the peak memory of weir batch
//     over 100k and 1M lines;
//   - servebench: prompt flow's serving scenario, 500 closed-loop clients
//     on the weir serve binary, against the arithmetic limit of 400
//     requests per second and prompt flow's published figures;
//   - poolbench: batches on a work pool: the pool's cost over a local
//     batch, 1, 2 and 4 weir worker processes against N times one, the
//     time from a worker's SIGKILL to its lines' redelivery, and (-rss) a
//     worker's memory over 1M lines.
//
// Each command also writes its figures as JSON with -json FILE (the types
// of bench/figures), and bench/cmd/report (make bench-report) runs them all
// and draws bench/REPORT.md with SVG charts under bench/report/.
//
// Package bench/load is the load generator that servebench and weir bench
// (users' own flows) share: closed-loop clients or an open-loop rate, and
// the percentiles of what they measured.
package bench
