package figures

// Engine is weirbench's: runs of no-op flows of builtin.json nodes next to
// the same tool calls made directly.
type Engine struct {
	Header
	Rows []EngineRow `json:"rows"`
}

// EngineRow is one scenario: the direct calls (Shape "direct"), or a flow
// of Nodes nodes in the shape "chain" or "fanout".
type EngineRow struct {
	Scenario      string  `json:"scenario"`
	Shape         string  `json:"shape"`
	Nodes         int     `json:"nodes"`
	RunsPerSec    float64 `json:"runs_per_sec"`
	NsPerNode     float64 `json:"ns_per_node"`
	CPUNsPerNode  float64 `json:"cpu_ns_per_node"` // 0 where the system does not say
	AllocsPerNode float64 `json:"allocs_per_node"`
	// EngineNsPerNode is NsPerNode less the direct tool call's: what the
	// engine adds to a node.
	EngineNsPerNode float64 `json:"engine_ns_per_node"`
	VsDirect        float64 `json:"vs_direct"`
}

// Load is loadbench's: weir validate and engine.Parse of no-op flows by
// size.
type Load struct {
	Header
	Rounds int       `json:"rounds"`
	Rows   []LoadRow `json:"rows"`
}

// LoadRow is one flow's load, medians over the rounds.
type LoadRow struct {
	Shape           string `json:"shape"` // "chain" or "fanout"
	Nodes           int    `json:"nodes"`
	ValidateWallNs  int64  `json:"validate_wall_ns"`
	ValidateCPUNs   int64  `json:"validate_cpu_ns"`
	ValidatePeakRSS int64  `json:"validate_peak_rss_bytes"`
	// ParseAllocated is what engine.Parse allocates in the benchmark's
	// process; 0 when a binary built elsewhere was measured.
	ParseAllocated int64 `json:"parse_allocated_bytes"`
}

// Plugin is pluginbench's: go-plugin tools next to the raw go-plugin call.
type Plugin struct {
	Header
	Nodes   int             `json:"nodes"`  // of the chain flows
	Rounds  int             `json:"rounds"` // of the go-plugin rows, whose medians they are
	Target  float64         `json:"target"` // a go-plugin node's bound, as a multiple of the raw call
	Calls   []PluginCall    `json:"calls"`
	Startup []PluginStartup `json:"startup"`
}

// PluginCall is one way of calling echo on a payload.
type PluginCall struct {
	Scenario     string  `json:"scenario"`
	PayloadBytes int     `json:"payload_bytes"`
	NsPerCall    float64 `json:"ns_per_call"`
	CallsPerSec  float64 `json:"calls_per_sec"`
	VsRaw        float64 `json:"vs_raw"` // over the raw go-plugin call's ns
}

// PluginStartup is one step of a go-plugin plugin's start, over its runs.
type PluginStartup struct {
	Step     string `json:"step"`
	MedianNs int64  `json:"median_ns"`
	MinNs    int64  `json:"min_ns"`
	MaxNs    int64  `json:"max_ns"`
}

// Wasm is wasmbench's: weir's Wasm tools next to raw wazero and Extism.
type Wasm struct {
	Header
	Calls      []WasmCall       `json:"calls"`
	Startup    []Step           `json:"startup"`
	Throughput []WasmThroughput `json:"throughput"`
}

// WasmCall is one way of calling the echo guest on a payload.
type WasmCall struct {
	Scenario     string  `json:"scenario"`
	PayloadBytes int     `json:"payload_bytes"`
	NsPerCall    float64 `json:"ns_per_call"`
	CallsPerSec  float64 `json:"calls_per_sec"`
	OverRawNs    float64 `json:"over_raw_ns"`        // ns more than the raw wazero call
	VsExtism     float64 `json:"faster_than_extism"` // Extism's ns over this one's
}

// Step is a timed step; Error says why it has no time.
type Step struct {
	Step  string `json:"step"`
	Ns    int64  `json:"ns"`
	Error string `json:"error,omitempty"`
}

// WasmThroughput is the 10-node Wasm flow run from Concurrency goroutines.
type WasmThroughput struct {
	Concurrency     int     `json:"concurrency"`
	RunsPerSec      float64 `json:"runs_per_sec"`
	NodeCallsPerSec float64 `json:"node_calls_per_sec"`
}

// Batch is batchbench's: a batch's lines per second next to direct tool
// calls, and the weir batch binary's peak memory by dataset size.
type Batch struct {
	Header
	Lines      int         `json:"lines"`  // of the throughput runs
	Rounds     int         `json:"rounds"` // of each throughput row, whose medians they are
	Throughput []BatchRate `json:"throughput"`
	Memory     []BatchRun  `json:"memory"`
}

// BatchRate is one flow at one concurrency.
type BatchRate struct {
	Flow                string  `json:"flow"`
	Concurrency         int     `json:"concurrency"`
	WeirLinesPerSec     float64 `json:"weir_lines_per_sec"`
	DirectLinesPerSec   float64 `json:"direct_lines_per_sec"`
	WeirOverDirect      float64 `json:"weir_over_direct"`
	NoRecordLinesPerSec float64 `json:"no_record_lines_per_sec"`
}

// BatchRun is one weir batch process over Lines lines.
type BatchRun struct {
	Flow        string  `json:"flow"`
	Lines       int     `json:"lines"`
	WallNs      int64   `json:"wall_ns"`
	LinesPerSec float64 `json:"lines_per_sec"`
	// PeakRSS is exact when PeakExact; otherwise the peak is at most
	// FloorRSS, what the launcher held (see batchbench's spawn).
	PeakRSS     int64 `json:"peak_rss_bytes"`
	PeakExact   bool  `json:"peak_exact"`
	FloorRSS    int64 `json:"floor_rss_bytes"`
	RecordBytes int64 `json:"record_bytes"`
}

// Serve is servebench's: prompt flow's serving scenario on weir serve.
type Serve struct {
	Header
	Clients        int     `json:"clients"`
	DurationNs     int64   `json:"duration_ns"`
	OK             int     `json:"ok"`
	Errors         int     `json:"errors"`
	RequestsPerSec float64 `json:"requests_per_sec"`
	P50Ns          int64   `json:"p50_ns"`
	P90Ns          int64   `json:"p90_ns"`
	P99Ns          int64   `json:"p99_ns"`
	MaxNs          int64   `json:"max_ns"`
	MeanNs         int64   `json:"mean_ns"`
	// FloorNs is the least a request can take; LimitPerSec is what Clients
	// closed-loop clients can make at most with it.
	FloorNs     int64   `json:"floor_ns"`
	LimitPerSec float64 `json:"limit_per_sec"`
	ServerCPUNs int64   `json:"server_cpu_ns"` // 0 where /proc does not say
	PeakRSS     int64   `json:"peak_rss_bytes"`
	Published   []Peer  `json:"published"`
}

// Peer is a published figure for the same scenario.
type Peer struct {
	Name           string  `json:"name"`
	RequestsPerSec float64 `json:"requests_per_sec"`
	Clients        int     `json:"clients"`
}

// Pool is poolbench's: batches on a work pool.
type Pool struct {
	Header
	Overhead *PoolOverhead `json:"overhead,omitempty"`
	// ScalingWaitNs is what each line of the scaling flow waits.
	ScalingWaitNs int64          `json:"scaling_wait_ns"`
	Concurrency   int            `json:"concurrency"` // of each worker
	Scaling       []PoolScale    `json:"scaling"`
	Recovery      []PoolRecovery `json:"recovery"`
	Memory        []PoolMemory   `json:"memory,omitempty"`
}

// PoolOverhead is the builtin flow local and on a pool of one worker.
type PoolOverhead struct {
	Lines            int     `json:"lines"`
	LocalLinesPerSec float64 `json:"local_lines_per_sec"`
	PoolLinesPerSec  float64 `json:"pool_lines_per_sec"`
}

// PoolScale is the scaling flow over Workers worker processes.
type PoolScale struct {
	Workers     int     `json:"workers"`
	LinesPerSec float64 `json:"lines_per_sec"`
	// OfNTimesOne is LinesPerSec over Workers times one worker's.
	OfNTimesOne float64 `json:"of_n_times_one"`
}

// PoolRecovery is one SIGKILLed worker, for an ack wait.
type PoolRecovery struct {
	AckWaitNs     int64 `json:"ack_wait_ns"`
	RedeliveredNs int64 `json:"redelivered_ns"` // from the kill
	DoneNs        int64 `json:"done_ns"`        // from the kill to the last result
}

// PoolMemory is a worker's memory after Lines lines.
type PoolMemory struct {
	Lines     int   `json:"lines"`
	ElapsedNs int64 `json:"elapsed_ns"`
	RSS       int64 `json:"rss_bytes"`
	PeakRSS   int64 `json:"peak_rss_bytes"`
}
