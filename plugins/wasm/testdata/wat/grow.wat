;; grow.wat: a valid weir-abi-1 reactor whose weir_invoke, whatever the tool,
;; grows its memory one page at a time until memory.grow fails (the host's
;; memory limit, or 4 GiB without one), then traps with unreachable. Its one
;; tool is "grow".
(module
  (memory (export "memory") 2)

  ;; 1024: the contract (147 bytes)
  (data (i32.const 1024) "{\"abi\":\"weir-abi-1\",\"tools\":[{\"name\":\"grow\",\"description\":\"Grows memory until it cannot.\",\"inputs\":{\"type\":\"object\"},\"outputs\":{\"type\":\"object\"}}]}")

  ;; weir_alloc: one buffer at 64 KiB, the memory grown to fit it.
  (func $weir_alloc (export "weir_alloc") (param $n i32) (result i32)
    (local $need i32)
    (local.set $need
      (i32.wrap_i64 (i64.shr_u
        (i64.add (i64.extend_i32_u (local.get $n)) (i64.const 131071))
        (i64.const 16))))
    (if (i32.gt_u (local.get $need) (memory.size))
      (then
        (if (i32.eq (memory.grow (i32.sub (local.get $need) (memory.size))) (i32.const -1))
          (then unreachable))))
    (i32.const 65536))

  (func $weir_describe (export "weir_describe") (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 147)))

  (func $weir_invoke (export "weir_invoke") (param i32 i32 i32 i32) (result i64)
    (loop $more
      (br_if $more (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    unreachable))
