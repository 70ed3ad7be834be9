;; bigout.wat: a valid weir-abi-1 reactor whose weir_invoke, whatever the
;; tool, returns 64 MiB of output so that the host's output cap is hit: the
;; JSON object {"s":"aaa...a"} in 1024 pages grown for it (once per instance).
;; When the memory cannot grow that far it reports a limit error instead. Its
;; one tool is "big".
(module
  (import "weir" "error" (func $error (param i32 i32)))
  (memory (export "memory") 2)

  (global $out (mut i32) (i32.const 0))

  ;; 1024: the contract (177 bytes)
  (data (i32.const 1024) "{\"abi\":\"weir-abi-1\",\"tools\":[{\"name\":\"big\",\"description\":\"Returns 64 MiB of JSON.\",\"inputs\":{\"type\":\"object\"},\"outputs\":{\"type\":\"object\",\"properties\":{\"s\":{\"type\":\"string\"}}}}]}")
  ;; 1536: the error when memory cannot grow (57 bytes)
  (data (i32.const 1536) "{\"kind\":\"limit\",\"message\":\"cannot grow memory to 64 MiB\"}")

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
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 177)))

  (func $weir_invoke (export "weir_invoke") (param i32 i32 i32 i32) (result i64)
    (local $pages i32)
    (if (i32.eqz (global.get $out))
      (then
        (local.set $pages (memory.grow (i32.const 1024)))
        (if (i32.eq (local.get $pages) (i32.const -1))
          (then
            (call $error (i32.const 1536) (i32.const 57))
            (return (i64.const 0))))
        (global.set $out (i32.shl (local.get $pages) (i32.const 16)))
        ;; {"s":" then 'a' up to "} at the very end: 6 + (64 MiB - 8) + 2 bytes.
        (i32.store (global.get $out) (i32.const 0x2273227b)) ;; {"s" (little-endian)
        (i32.store16 (i32.add (global.get $out) (i32.const 4)) (i32.const 0x223a)) ;; :"
        (memory.fill (i32.add (global.get $out) (i32.const 6)) (i32.const 0x61) (i32.const 67108856))
        (i32.store16 (i32.add (global.get $out) (i32.const 67108862)) (i32.const 0x7d22)))) ;; "}
    (i64.or
      (i64.shl (i64.extend_i32_u (global.get $out)) (i64.const 32))
      (i64.const 67108864))))
