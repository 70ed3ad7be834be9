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

	b.Run("http/bare", benchHTTP(bareHTTP, scoreBody))
	b.Run("http/score", benchHTTP(weirHTTP+"/score", scoreBody))
	b.Run("grpc/bare", benchGRPC(bareGRPC))
	b.Run("grpc/run", benchGRPC(weirGRPC))
	b.Run("oip-rest/bare", benchHTTP(bareOIP, oipBody))
	b.Run("oip-rest/infer", benchHTTP(weirHTTP+"/v2/models/hello/infer", oipBody))
	b.Run("oip-grpc/bare", benchInfer(serveGRPC(b, bareInference)))
	b.Run("oip-grpc/infer", benchInfer(weirGRPC))
	b.Run("hydrosphere/bare", benchPredict(serveGRPC(b, bareHydro)))
	b.Run("hydrosphere/predict", benchPredict(weirGRPC))
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

// clients is how many callers each sub-benchmark runs at once.
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

func benchHTTP(url string, body []byte) func(b *testing.B) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	return closedLoop(func() error {
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
	})
}

func benchGRPC(conn *grpc.ClientConn) func(b *testing.B) {
	c := flowpb.NewFlowsClient(conn)
	inputs, err := structpb.NewStruct(map[string]any{"name": "Ada"})
	if err != nil {
		panic(err)
	}
	req := &flowpb.RunRequest{Flow: "hello", Inputs: &flowpb.RunRequest_InputsStruct{InputsStruct: inputs}}
	return closedLoop(func() error {
		_, err := c.Run(context.Background(), req)
		return err
	})
}

func benchInfer(conn *grpc.ClientConn) func(b *testing.B) {
	c := inferencepb.NewGRPCInferenceServiceClient(conn)
	req := &inferencepb.ModelInferRequest{ModelName: "hello", Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{{
		Name: "name", Datatype: "BYTES", Shape: []int64{1}, Contents: &inferencepb.InferTensorContents{BytesContents: [][]byte{[]byte("Ada")}},
	}}}
	return closedLoop(func() error {
		_, err := c.ModelInfer(context.Background(), req)
		return err
	})
}

func benchPredict(conn *grpc.ClientConn) func(b *testing.B) {
	c := hydropb.NewPredictionServiceClient(conn)
	req := &hydropb.PredictRequest{Inputs: map[string]*hydropb.Tensor{"name": {Dtype: hydropb.DataType_DT_STRING, StringVal: [][]byte{[]byte("Ada")}}}}
	return closedLoop(func() error {
		_, err := c.Predict(context.Background(), req)
		return err
	})
}

// closedLoop runs call from clients goroutines, each calling again once
// answered, b.N times in all, and reports requests/s and p99 latency.
func closedLoop(call func() error) func(b *testing.B) {
	return func(b *testing.B) {
		var (
			mu        sync.Mutex
			latencies []time.Duration
			failed    error
		)
		b.SetParallelism((clients + 1) / 2) // times GOMAXPROCS; 2 here
		b.ResetTimer()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			var mine []time.Duration
			for pb.Next() {
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
			latencies = append(latencies, mine...)
			mu.Unlock()
		})
		elapsed := time.Since(start)
		if failed != nil {
			b.Fatal(failed)
		}
		slices.Sort(latencies)
		b.ReportMetric(float64(len(latencies))/elapsed.Seconds(), "req/s")
		b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
	}
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
