;; loop.wat: a valid weir-abi-1 reactor whose weir_invoke loops forever,
;; whatever the tool, so only the host's per-call deadline stops it. Its one
;; tool is "loop".
(module
  (memory (export "memory") 2)

  ;; 1024: the contract (132 bytes)
  (data (i32.const 1024) "{\"abi\":\"weir-abi-1\",\"tools\":[{\"name\":\"loop\",\"description\":\"Never returns.\",\"inputs\":{\"type\":\"object\"},\"outputs\":{\"type\":\"object\"}}]}")

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
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 132)))

  (func $weir_invoke (export "weir_invoke") (param i32 i32 i32 i32) (result i64)
    (loop $forever (br $forever))
    unreachable))
