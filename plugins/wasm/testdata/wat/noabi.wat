;; noabi.wat: a reactor that exports memory, weir_alloc and weir_describe
;; (with a valid contract for a tool "missing") but neither weir_invoke nor
;; _start, so the host must refuse it at load for the missing export.
(module
  (memory (export "memory") 2)

  ;; 1024: the contract (139 bytes)
  (data (i32.const 1024) "{\"abi\":\"weir-abi-1\",\"tools\":[{\"name\":\"missing\",\"description\":\"Cannot be invoked.\",\"inputs\":{\"type\":\"object\"},\"outputs\":{\"type\":\"object\"}}]}")

  (func $weir_alloc (export "weir_alloc") (param $n i32) (result i32)
    (i32.const 65536))

  (func $weir_describe (export "weir_describe") (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 139))))
