;; badout.wat: a weir-abi-1 reactor whose tools return outputs that start
;; like a JSON object but are not valid JSON, each of which once reached a
;; client of weir serve as it was:
;;   "nul"       {"a":"x<NUL>"}: a raw control character in a string
;;   "deep"      {"a":[[[...]]]}: arrays nested 100000 deep
;;   "utf8"      {"a":"<0xff>"}: a string that is not UTF-8
;;   "trailing"  {"a":1} x: more after the object
(module
  (memory (export "memory") 8)

  ;; 1024: the contract (518 bytes)
  (data (i32.const 1024) "{\"abi\":\"weir-abi-1\",\"tools\":[{\"name\":\"nul\",\"description\":\"Returns a string with a raw NUL.\",\"inputs\":{\"type\":\"object\"},\"outputs\":{\"type\":\"object\"}},{\"name\":\"deep\",\"description\":\"Returns arrays nested 100000 deep.\",\"inputs\":{\"type\":\"object\"},\"outputs\":{\"type\":\"object\"}},{\"name\":\"utf8\",\"description\":\"Returns a string that is not UTF-8.\",\"inputs\":{\"type\":\"object\"},\"outputs\":{\"type\":\"object\"}},{\"name\":\"trailing\",\"description\":\"Returns an object and then more.\",\"inputs\":{\"type\":\"object\"},\"outputs\":{\"type\":\"object\"}}]}")
  ;; 2048: outputs, 32 bytes apart
  (data (i32.const 2048) "{\"a\":\"x\00\"}")
  (data (i32.const 2080) "{\"a\":\"\ff\"}")
  (data (i32.const 2112) "{\"a\":1} x")

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
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 518)))

  (func $at (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32)) (i64.extend_i32_u (local.get $len))))

  (func $weir_invoke (export "weir_invoke") (param $tool i32) (param i32 i32 i32) (result i64)
    (local $c i32)
    (local.set $c (i32.load8_u (local.get $tool)))
    (if (i32.eq (local.get $c) (i32.const 110)) ;; n
      (then (return (call $at (i32.const 2048) (i32.const 10)))))
    (if (i32.eq (local.get $c) (i32.const 117)) ;; u
      (then (return (call $at (i32.const 2080) (i32.const 10)))))
    (if (i32.eq (local.get $c) (i32.const 116)) ;; t
      (then (return (call $at (i32.const 2112) (i32.const 9)))))
    ;; deep: {"a": then 100000 [ and 100000 ] then }, built at 128 KiB
    (i32.store8 (i32.const 131072) (i32.const 123))       ;; {
    (i32.store (i32.const 131073) (i32.const 0x3a226122)) ;; "a":
    (memory.fill (i32.const 131077) (i32.const 91) (i32.const 100000))
    (memory.fill (i32.const 231077) (i32.const 93) (i32.const 100000))
    (i32.store8 (i32.const 331077) (i32.const 125))
    (call $at (i32.const 131072) (i32.const 200006))))
