// Package tensor maps a weir flow to the tensors of the Open Inference
// Protocol (KServe v2, as Triton and Seldon MLServer speak it): the
// metadata of a flow as a model, a request's input tensors to one run per
// batch row, and the runs' outputs back to output tensors. It knows
// nothing of HTTP or gRPC: the REST routes of hosts/endpoint use it, and
// the protocol's gRPC form can.
//
// A flow's input or output is a tensor whose datatype and shape come from
// its JSON Schema (or, where the schema says nothing, the JSON types the
// engine knows it by):
//
//	integer                   INT64  [-1]
//	number                    FP64   [-1]
//	boolean                   BOOL   [-1]
//	string                    BYTES  [-1]
//	list of one of those      its datatype, [-1, n] (n fixed by the type) or [-1, -1];
//	                          lists of lists add a dimension each
//	anything else             BYTES  [-1], each element the value's JSON text, with
//	                          parameters {"content_type": "json"}: objects,
//	                          unions such as int | null, untyped values, and an
//	                          output that is null when its node is bypassed
//
// The first dimension is the batch: a request whose inputs have shape
// [N, ...] runs the flow N times, once per row, and each output tensor
// stacks the N runs' values in row order. A scalar input takes shape [N]
// or [N, 1]. An INT64 input takes any integer datatype (INT8 to UINT64)
// and an FP64 input any numeric one, each element checked against the
// datatype the request names; BOOL and BYTES take only themselves.
// Elements may come flattened in row-major order or nested.
package tensor
