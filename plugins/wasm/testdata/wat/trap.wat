;; trap.wat: a valid weir-abi-1 reactor with two tools.
;;   "trap" executes `unreachable`, after marking the instance as poisoned.
;;   "ok"   returns {"ok":true}, or {"ok":false} on a poisoned instance: a host
;;          that discards trapped instances, as it must, never sees false.
;; Any other tool is reported through weir.error as invalid_input.
(module
  (import "weir" "error" (func $error (param i32 i32)))
  (memory (export "memory") 2)

  (global $poisoned (mut i32) (i32.const 0))

  ;; 1024: the contract (306 bytes)
  (data (i32.const 1024) "{\"abi\":\"weir-abi-1\",\"tools\":[{\"name\":\"trap\",\"description\":\"Traps with unreachable.\",\"inputs\":{\"type\":\"object\"},\"outputs\":{\"type\":\"object\"}},{\"name\":\"ok\",\"description\":\"Returns {\\\"ok\\\":true}.\",\"inputs\":{\"type\":\"object\"},\"outputs\":{\"type\":\"object\",\"properties\":{\"ok\":{\"type\":\"boolean\"}},\"required\":[\"ok\"]}}]}")
  ;; 2048: outputs and errors
  (data (i32.const 2048) "{\"ok\":true}")   ;; 11 bytes
  (data (i32.const 2064) "{\"ok\":false}")  ;; 12 bytes
  (data (i32.const 2080) "{\"kind\":\"invalid_input\",\"message\":\"unknown tool\"}") ;; 49 bytes
  (data (i32.const 2144) "trap")
  (data (i32.const 2148) "ok")

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
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 306)))

  ;; $is reports whether the len bytes at p equal the len bytes at q.
  (func $is (param $p i32) (param $len i32) (param $q i32) (param $qlen i32) (result i32)
    (if (i32.ne (local.get $len) (local.get $qlen)) (then (return (i32.const 0))))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $len)))
        (if (i32.ne (i32.load8_u (local.get $p)) (i32.load8_u (local.get $q)))
          (then (return (i32.const 0))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (local.set $q (i32.add (local.get $q) (i32.const 1)))
        (local.set $len (i32.sub (local.get $len) (i32.const 1)))
        (br $next)))
    (i32.const 1))

  (func $weir_invoke (export "weir_invoke") (param $tool i32) (param $tool_len i32) (param $in i32) (param $in_len i32) (result i64)
    (if (call $is (local.get $tool) (local.get $tool_len) (i32.const 2144) (i32.const 4))
      (then
        (global.set $poisoned (i32.const 1))
        unreachable))
    (if (call $is (local.get $tool) (local.get $tool_len) (i32.const 2148) (i32.const 2))
      (then
        (if (global.get $poisoned)
          (then (return (i64.or (i64.shl (i64.const 2064) (i64.const 32)) (i64.const 12)))))
        (return (i64.or (i64.shl (i64.const 2048) (i64.const 32)) (i64.const 11)))))
    (call $error (i32.const 2080) (i32.const 49))
    (i64.const 0)))
