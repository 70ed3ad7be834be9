;; noisy.wat: a weir-abi-1 reactor whose tools try to flood or forge what the
;; host says about them:
;;   "bigerror"  reports an error of 64 MiB of "x" through weir.error
;;   "logflood"  calls weir.log a million times, then returns {}
;;   "forge"     logs, then fails with, text holding a newline, a forged
;;               log record and a terminal escape
;;   "biglog"    logs one line of 1 MiB of "y", then returns {}
(module
  (import "weir" "log" (func $log (param i32 i32 i32)))
  (import "weir" "error" (func $error (param i32 i32)))
  (memory (export "memory") 2)

  ;; 1024: the contract (514 bytes)
  (data (i32.const 1024) "{\"abi\":\"weir-abi-1\",\"tools\":[{\"name\":\"bigerror\",\"description\":\"Reports an error of 64 MiB.\",\"inputs\":{\"type\":\"object\"},\"outputs\":{\"type\":\"object\"}},{\"name\":\"logflood\",\"description\":\"Logs a million lines.\",\"inputs\":{\"type\":\"object\"},\"outputs\":{\"type\":\"object\"}},{\"name\":\"forge\",\"description\":\"Logs and fails with newlines and terminal escapes.\",\"inputs\":{\"type\":\"object\"},\"outputs\":{\"type\":\"object\"}},{\"name\":\"biglog\",\"description\":\"Logs one line of 1 MiB.\",\"inputs\":{\"type\":\"object\"},\"outputs\":{\"type\":\"object\"}}]}")
  ;; 2048: a log line (34 bytes) and an error (69 bytes) that forge
  (data (i32.const 2048) "ok\0alevel=ERROR msg=forged \1b[31mred")
  (data (i32.const 2112) "{\"kind\":\"internal\",\"message\":\"bad\\nlevel=ERROR msg=forged \\u001b[2J\"}")
  ;; 2304: a short log line; 3072: the output {}
  (data (i32.const 2304) "x")
  (data (i32.const 3072) "{}")

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
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 514)))

  (func $empty (result i64)
    (i64.or (i64.shl (i64.const 3072) (i64.const 32)) (i64.const 2)))

  ;; $fill makes n bytes of c at 1 MiB, growing the memory to hold them.
  (func $fill (param $c i32) (param $n i32)
    (local $need i32)
    (local.set $need (i32.add (i32.shr_u (local.get $n) (i32.const 16)) (i32.const 17)))
    (if (i32.gt_u (local.get $need) (memory.size))
      (then
        (if (i32.eq (memory.grow (i32.sub (local.get $need) (memory.size))) (i32.const -1))
          (then unreachable))))
    (memory.fill (i32.const 1048576) (local.get $c) (local.get $n)))

  (func $weir_invoke (export "weir_invoke") (param $tool i32) (param i32 i32 i32) (result i64)
    (local $c i32)
    (local $i i32)
    (local.set $c (i32.load8_u (local.get $tool)))
    (if (i32.eq (local.get $c) (i32.const 98)) ;; b: bigerror, biglog
      (then
        (if (i32.eq (i32.load8_u offset=3 (local.get $tool)) (i32.const 101)) ;; e
          (then
            (call $fill (i32.const 120) (i32.const 67108864))
            (call $error (i32.const 1048576) (i32.const 67108864))
            (return (i64.const 0))))
        (call $fill (i32.const 121) (i32.const 1048576))
        (call $log (i32.const 2) (i32.const 1048576) (i32.const 1048576))
        (return (call $empty))))
    (if (i32.eq (local.get $c) (i32.const 108)) ;; l: logflood
      (then
        (loop $more
          (call $log (i32.const 1) (i32.const 2304) (i32.const 1))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $more (i32.lt_u (local.get $i) (i32.const 1000000))))
        (return (call $empty))))
    ;; forge
    (call $log (i32.const 1) (i32.const 2048) (i32.const 34))
    (call $error (i32.const 2112) (i32.const 69))
    (i64.const 0)))
