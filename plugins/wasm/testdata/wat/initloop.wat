;; initloop.wat: a weir-abi-1 reactor whose _initialize never returns, so
;; only a bound on loading (limits.timeout) or a canceled context stops it.
(module
  (memory (export "memory") 2)
  (func (export "_initialize")
    (loop $forever (br $forever)))
  (func (export "weir_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "weir_describe") (result i64) (i64.const 0))
  (func (export "weir_invoke") (param i32 i32 i32 i32) (result i64)
    unreachable))
