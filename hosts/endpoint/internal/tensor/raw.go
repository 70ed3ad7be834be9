package tensor

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

// Texts reads BYTES elements: weir's inputs take text, so they must be
// UTF-8.
func Texts(list [][]byte) ([]any, error) {
	out := make([]any, len(list))
	for i, b := range list {
		if !utf8.Valid(b) {
			return nil, fmt.Errorf("element %d is not UTF-8 text", i)
		}
		out[i] = string(b)
	}
	return out, nil
}

// sizes are the bytes of one element of each fixed-size datatype.
var sizes = map[string]int{"BOOL": 1, "INT8": 1, "UINT8": 1, "INT16": 2, "UINT16": 2, "FP16": 2, "INT32": 4, "UINT32": 4, "FP32": 4, "INT64": 8, "UINT64": 8, "FP64": 8}

// DecodeRaw reads the elements of one tensor of datatype dt in the
// protocol's binary form: little-endian and row-major, a BOOL a byte, a
// BYTES element its length in 4 bytes and then its bytes. The gRPC form's
// raw_input_contents carry it, and REST bodies of the binary tensor data
// extension. Its errors follow the input's name.
func DecodeRaw(dt string, b []byte) ([]any, error) {
	if dt == "BYTES" {
		var list [][]byte
		for len(b) > 0 {
			if len(b) < 4 || uint64(binary.LittleEndian.Uint32(b)) > uint64(len(b)-4) {
				return nil, fmt.Errorf("raw element %d: its length runs past the raw contents", len(list))
			}
			n := binary.LittleEndian.Uint32(b)
			list, b = append(list, b[4:4+n]), b[4+n:]
		}
		return Texts(list)
	}
	size, ok := sizes[dt]
	if !ok {
		return []any{}, nil // Rows names the datatype
	}
	if len(b)%size != 0 {
		return nil, fmt.Errorf("raw contents of %d bytes are not a whole number of %s elements of %d bytes", len(b), dt, size)
	}
	out := make([]any, 0, len(b)/size)
	for i := 0; i < len(b); i += size {
		e := b[i : i+size]
		var v any
		switch dt {
		case "BOOL":
			v = e[0] != 0
		case "INT8":
			v = json.Number(strconv.FormatInt(int64(int8(e[0])), 10))
		case "UINT8":
			v = json.Number(strconv.FormatUint(uint64(e[0]), 10))
		case "INT16":
			v = json.Number(strconv.FormatInt(int64(int16(binary.LittleEndian.Uint16(e))), 10))
		case "UINT16":
			v = json.Number(strconv.FormatUint(uint64(binary.LittleEndian.Uint16(e)), 10))
		case "INT32":
			v = json.Number(strconv.FormatInt(int64(int32(binary.LittleEndian.Uint32(e))), 10))
		case "UINT32":
			v = json.Number(strconv.FormatUint(uint64(binary.LittleEndian.Uint32(e)), 10))
		case "INT64":
			v = json.Number(strconv.FormatInt(int64(binary.LittleEndian.Uint64(e)), 10))
		case "UINT64":
			v = json.Number(strconv.FormatUint(binary.LittleEndian.Uint64(e), 10))
		case "FP16", "FP32", "FP64":
			f, bits := rawFloat(dt, e)
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("element %d is %v: JSON has no NaN or infinities", len(out), f)
			}
			v = json.Number(strconv.FormatFloat(f, 'g', -1, bits))
		}
		out = append(out, v)
	}
	return out, nil
}

// rawFloat reads a little-endian float of datatype dt, and its bits for
// writing it back shortest.
func rawFloat(dt string, e []byte) (float64, int) {
	switch dt {
	case "FP64":
		return math.Float64frombits(binary.LittleEndian.Uint64(e)), 64
	case "FP32":
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(e))), 32
	}
	return half(binary.LittleEndian.Uint16(e)), 32
}

// half converts an IEEE 754 half-precision float.
func half(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	frac := float64(h & 0x3ff)
	switch exp {
	case 0:
		return sign * math.Ldexp(frac, -24) // subnormal
	case 0x1f:
		if frac == 0 {
			return math.Inf(int(sign))
		}
		return math.NaN()
	}
	return sign * math.Ldexp(1024+frac, exp-25)
}

// AppendRaw appends the elements of t, an output tensor of one of the
// four datatypes the mapping makes, in the binary form DecodeRaw reads.
func AppendRaw(b []byte, t Tensor) []byte {
	for _, e := range t.Data {
		switch x := e.(type) {
		case bool:
			if x {
				b = append(b, 1)
			} else {
				b = append(b, 0)
			}
		case string:
			b = binary.LittleEndian.AppendUint32(b, uint32(len(x)))
			b = append(b, x...)
		case json.Number:
			if t.Datatype == Int64 {
				n, _ := x.Int64() // Stack checked it
				b = binary.LittleEndian.AppendUint64(b, uint64(n))
			} else {
				f, _ := x.Float64()
				b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
			}
		}
	}
	return b
}
