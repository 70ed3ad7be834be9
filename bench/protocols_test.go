package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts/endpoint"
	"github.com/weirflow/weir/internal/flowpb"
	"github.com/weirflow/weir/internal/hydropb"
	"github.com/weirflow/weir/internal/inferencepb"
)

// BenchmarkServeProtocols measures the hello flow (examples/hello: one
// Wasm node) served in this process over loopback by each protocol weir
// serve speaks: HTTP's POST /score, gRPC's weir.flow.v1.Flows/Run, the
// Open Inference Protocol's REST infer and gRPC ModelInfer, and
// Hydrosphere's Predict, each against a bare server of the same protocol
// that answers the same outputs without running anything: the limit of
// the protocol's stack on this machine. 32 clients call in a closed loop;
// each sub-benchmark reports requests/s and p99 latency.
//
//	go test -run '^$' -bench ServeProtocols -benchtime 5s ./bench
func BenchmarkServeProtocols(b *testing.B) {
	root, err := ModuleRoot()
	if err != nil {
		b.Fatal(err)
	}
	flowPath := filepath.Join(root, "examples", "hello", "flow.cue")
	if _, err := os.Stat(filepath.Join(root, "examples", "plugins", "text", "text.wasm")); err != nil {
		b.Skipf("SKIP LOUDLY: the hello flow's plugin is not built (make plugins): %v", err)
	}
	e, err := weir.New(engine.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	ctx := context.Background()
	f, err := e.Load(ctx, flowPath)
	if err != nil {
		b.Fatal(err)
	}
	s, err := endpoint.New(endpoint.Options{Engine: e, MaxConcurrent: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if err := s.Deploy(ctx, "v1", f); err != nil {
		b.Fatal(err)
	}
	const answer = `{"message":"Hello, Ada!","shouted":null}`

	weirHTTP := serveHTTP(b, s.Handler())
	bareHTTP := serveHTTP(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, answer+"\n")
	}))
	weirGRPC := serveGRPC(b, s.NewGRPCServer())
	bare := grpc.NewServer()
	flowpb.RegisterFlowsServer(bare, fixedFlows{answer: answer})
	bareGRPC := serveGRPC(b, bare)

	bareOIP := serveHTTP(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, oipAnswer)
	}))
	bareInference := grpc.NewServer()
	inferencepb.RegisterGRPCInferenceServiceServer(bareInference, fixedInference{})
	bareHydro := grpc.NewServer()
	hydropb.RegisterPredictionServiceServer(bareHydro, fixedPredict{})

	b.Run("http-score", beside(callHTTP(weirHTTP+"/score", scoreBody), callHTTP(bareHTTP, scoreBody)))
	b.Run("grpc-run", beside(callRun(weirGRPC), callRun(bareGRPC)))
	b.Run("oip-rest", beside(callHTTP(weirHTTP+"/v2/models/hello/infer", oipBody), callHTTP(bareOIP, oipBody)))
	b.Run("oip-grpc", beside(callInfer(weirGRPC), callInfer(serveGRPC(b, bareInference))))
	b.Run("hydrosphere", beside(callPredict(weirGRPC), callPredict(serveGRPC(b, bareHydro))))
}

// The requests and answers of each protocol for the hello flow's one
// input, name, and its outputs.
var (
	scoreBody = []byte(`{"name":"Ada"}`)
	oipBody   = []byte(`{"inputs":[{"name":"name","shape":[1],"datatype":"BYTES","data":["Ada"]}]}`)
)

const oipAnswer = `{"model_name":"hello","model_version":"v1","id":"r","outputs":[` +
	`{"name":"message","shape":[1],"datatype":"BYTES","data":["Hello, Ada!"]},` +
	`{"name":"shouted","shape":[1],"datatype":"BYTES","parameters":{"content_type":"json"},"data":["null"]}]}` + "\n"

// clients is how many callers each side of a sub-benchmark runs at once.
const clients = 32

func serveHTTP(b *testing.B, h http.Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: h}
	go func() { _ = hs.Serve(ln) }()
	b.Cleanup(func() { hs.Close() })
	return "http://" + ln.Addr().String()
}

func serveGRPC(b *testing.B, gs *grpc.Server) *grpc.ClientConn {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = gs.Serve(ln) }()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		conn.Close()
		gs.Stop()
	})
	return conn
}

func callHTTP(url string, body []byte) func() error {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	return func() error {
		resp, err := client.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
}

func callRun(conn *grpc.ClientConn) func() error {
	c := flowpb.NewFlowsClient(conn)
	inputs, err := structpb.NewStruct(map[string]any{"name": "Ada"})
	if err != nil {
		panic(err)
	}
	req := &flowpb.RunRequest{Flow: "hello", Inputs: &flowpb.RunRequest_InputsStruct{InputsStruct: inputs}}
	return func() error {
		_, err := c.Run(context.Background(), req)
		return err
	}
}

func callInfer(conn *grpc.ClientConn) func() error {
	c := inferencepb.NewGRPCInferenceServiceClient(conn)
	req := &inferencepb.ModelInferRequest{ModelName: "hello", Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{{
		Name: "name", Datatype: "BYTES", Shape: []int64{1}, Contents: &inferencepb.InferTensorContents{BytesContents: [][]byte{[]byte("Ada")}},
	}}}
	return func() error {
		_, err := c.ModelInfer(context.Background(), req)
		return err
	}
}

func callPredict(conn *grpc.ClientConn) func() error {
	c := hydropb.NewPredictionServiceClient(conn)
	req := &hydropb.PredictRequest{Inputs: map[string]*hydropb.Tensor{"name": {Dtype: hydropb.DataType_DT_STRING, StringVal: [][]byte{[]byte("Ada")}}}}
	return func() error {
		_, err := c.Predict(context.Background(), req)
		return err
	}
}

// beside measures weir's call, ours, and the bare server's alike, in alternating
// rounds so that the load other programs put on the machine falls on both:
// each round makes b.N/rounds calls of each from clients goroutines in a
// closed loop. It reports each side's requests/s and p99 latency, and
// weir's requests/s as a percentage of the bare server's, the figure that
// holds on a noisy machine.
func beside(ours, bare func() error) func(b *testing.B) {
	const rounds = 5
	return func(b *testing.B) {
		var w, r loopStats
		for range rounds {
			n := max(b.N/rounds, clients)
			if err := r.run(bare, n); err != nil {
				b.Fatalf("bare server: %v", err)
			}
			if err := w.run(ours, n); err != nil {
				b.Fatalf("weir: %v", err)
			}
		}
		b.ReportMetric(w.rate(), "weir-req/s")
		b.ReportMetric(r.rate(), "bare-req/s")
		b.ReportMetric(100*w.rate()/r.rate(), "%-of-bare")
		b.ReportMetric(w.p99(), "weir-p99-ms")
		b.ReportMetric(r.p99(), "bare-p99-ms")
	}
}

// loopStats gathers the latencies and time of closed-loop rounds.
type loopStats struct {
	latencies []time.Duration
	elapsed   time.Duration
}

// run makes n calls from clients goroutines, each calling again once
// answered, and returns the first error.
func (l *loopStats) run(call func() error, n int) error {
	var (
		mu     sync.Mutex
		next   atomic.Int64
		failed error
		wg     sync.WaitGroup
	)
	start := time.Now()
	for range clients {
		wg.Go(func() {
			var mine []time.Duration
			for next.Add(1) <= int64(n) {
				t := time.Now()
				if err := call(); err != nil {
					mu.Lock()
					failed = err
					mu.Unlock()
					return
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			l.latencies = append(l.latencies, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	l.elapsed += time.Since(start)
	return failed
}

func (l *loopStats) rate() float64 { return float64(len(l.latencies)) / l.elapsed.Seconds() }

func (l *loopStats) p99() float64 {
	slices.Sort(l.latencies)
	return float64(l.latencies[len(l.latencies)*99/100].Microseconds()) / 1000
}

// fixedFlows is a bare weir.flow.v1.Flows whose Run answers the same
// outputs, whatever it is asked.
type fixedFlows struct {
	flowpb.UnimplementedFlowsServer
	answer string
}

func (f fixedFlows) Run(context.Context, *flowpb.RunRequest) (*flowpb.RunResponse, error) {
	outputs, err := structpb.NewStruct(map[string]any{"message": "Hello, Ada!", "shouted": nil})
	if err != nil {
		return nil, err
	}
	return &flowpb.RunResponse{RunId: "r", Flow: "hello", Version: "v1", Status: "succeeded", Outputs: outputs, OutputsJson: f.answer}, nil
}

// fixedInference is a bare inference.GRPCInferenceService whose
// ModelInfer answers hello's outputs, whatever it is asked.
type fixedInference struct {
	inferencepb.UnimplementedGRPCInferenceServiceServer
}

func (fixedInference) ModelInfer(context.Context, *inferencepb.ModelInferRequest) (*inferencepb.ModelInferResponse, error) {
	return &inferencepb.ModelInferResponse{ModelName: "hello", ModelVersion: "v1", Id: "r", Outputs: []*inferencepb.ModelInferResponse_InferOutputTensor{
		{Name: "message", Datatype: "BYTES", Shape: []int64{1}, Contents: &inferencepb.InferTensorContents{BytesContents: [][]byte{[]byte("Hello, Ada!")}}},
		{Name: "shouted", Datatype: "BYTES", Shape: []int64{1}, Contents: &inferencepb.InferTensorContents{BytesContents: [][]byte{[]byte("null")}},
			Parameters: map[string]*inferencepb.InferParameter{"content_type": {ParameterChoice: &inferencepb.InferParameter_StringParam{StringParam: "json"}}}},
	}}, nil
}

// fixedPredict is a bare Hydrosphere PredictionService whose Predict
// answers hello's message, whatever it is asked.
type fixedPredict struct {
	hydropb.UnimplementedPredictionServiceServer
}

func (fixedPredict) Predict(context.Context, *hydropb.PredictRequest) (*hydropb.PredictResponse, error) {
	return &hydropb.PredictResponse{Outputs: map[string]*hydropb.Tensor{
		"message": {Dtype: hydropb.DataType_DT_STRING, TensorShape: &hydropb.TensorShape{}, StringVal: [][]byte{[]byte("Hello, Ada!")}},
	}}, nil
}
