;; wrongabi.wat: a reactor with weir_alloc and weir_describe right (a valid
;; contract for a tool "wrong") but weir_invoke of type (i32) -> i32 instead of
;; (i32, i32, i32, i32) -> i64, so the host must refuse it at load.
(module
  (memory (export "memory") 2)

  ;; 1024: the contract (143 bytes)
  (data (i32.const 1024) "{\"abi\":\"weir-abi-1\",\"tools\":[{\"name\":\"wrong\",\"description\":\"Has the wrong signature.\",\"inputs\":{\"type\":\"object\"},\"outputs\":{\"type\":\"object\"}}]}")

  (func $weir_alloc (export "weir_alloc") (param $n i32) (result i32)
    (i32.const 65536))

  (func $weir_describe (export "weir_describe") (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 143)))

  (func $weir_invoke (export "weir_invoke") (param i32) (result i32)
    (i32.const 0)))
