;; badjson.wat: a weir-abi-1 reactor whose tools return outputs that are not
;; a JSON object, each a way for the host to reject the call with an error
;; (and never panic or read outside the guest's memory):
;;   "array"     returns [1,2]            valid JSON, not an object
;;   "word"      returns hello            not JSON
;;   "truncated" returns {"a":            cut short
;;   "empty"     returns 0 without calling weir.error (no output at all)
;;   "oob"       returns ptr 0x7fff0000, len 16: outside the 2-page memory
;;   "wrap"      returns ptr 0xfffffff0, len 32: ptr+len overflows 32 bits
;; Any other tool is reported through weir.error as invalid_input.
(module
  (import "weir" "error" (func $error (param i32 i32)))
  (memory (export "memory") 2)

  ;; 1024: the contract (732 bytes)
  (data (i32.const 1024) "{\"abi\":\"weir-abi-1\",\"tools\":[{\"name\":\"array\",\"description\":\"Returns [1,2].\",\"inputs\":{\"type\":\"object\"},\"outputs\":{\"type\":\"object\"}},{\"name\":\"word\",\"description\":\"Returns hello.\",\"inputs\":{\"type\":\"object\"},\"outputs\":{\"type\":\"object\"}},{\"name\":\"truncated\",\"description\":\"Returns a cut-short object.\",\"inputs\":{\"type\":\"object\"},\"outputs\":{\"type\":\"object\"}},{\"name\":\"empty\",\"description\":\"Returns nothing and no error.\",\"inputs\":{\"type\":\"object\"},\"outputs\":{\"type\":\"object\"}},{\"name\":\"oob\",\"description\":\"Returns a pointer outside memory.\",\"inputs\":{\"type\":\"object\"},\"outputs\":{\"type\":\"object\"}},{\"name\":\"wrap\",\"description\":\"Returns a pointer and length that overflow 32 bits.\",\"inputs\":{\"type\":\"object\"},\"outputs\":{\"type\":\"object\"}}]}")
  ;; 2048: tool names, 16 bytes apart
  (data (i32.const 2048) "array")
  (data (i32.const 2064) "word")
  (data (i32.const 2080) "truncated")
  (data (i32.const 2096) "empty")
  (data (i32.const 2112) "oob")
  (data (i32.const 2128) "wrap")
  ;; 2304: outputs and the error
  (data (i32.const 2304) "[1,2]")
  (data (i32.const 2320) "hello")
  (data (i32.const 2336) "{\"a\":")
  (data (i32.const 2352) "{\"kind\":\"invalid_input\",\"message\":\"unknown tool\"}") ;; 49 bytes

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
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 732)))

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

  (func $out (param $ptr i32) (param $len i32) (result i64)
    (i64.or
      (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
      (i64.extend_i32_u (local.get $len))))

  (func $weir_invoke (export "weir_invoke") (param $tool i32) (param $tool_len i32) (param $in i32) (param $in_len i32) (result i64)
    (if (call $is (local.get $tool) (local.get $tool_len) (i32.const 2048) (i32.const 5))
      (then (return (call $out (i32.const 2304) (i32.const 5)))))
    (if (call $is (local.get $tool) (local.get $tool_len) (i32.const 2064) (i32.const 4))
      (then (return (call $out (i32.const 2320) (i32.const 5)))))
    (if (call $is (local.get $tool) (local.get $tool_len) (i32.const 2080) (i32.const 9))
      (then (return (call $out (i32.const 2336) (i32.const 5)))))
    (if (call $is (local.get $tool) (local.get $tool_len) (i32.const 2096) (i32.const 5))
      (then (return (i64.const 0))))
    (if (call $is (local.get $tool) (local.get $tool_len) (i32.const 2112) (i32.const 3))
      (then (return (call $out (i32.const 0x7fff0000) (i32.const 16)))))
    (if (call $is (local.get $tool) (local.get $tool_len) (i32.const 2128) (i32.const 4))
      (then (return (call $out (i32.const 0xfffffff0) (i32.const 32)))))
    (call $error (i32.const 2352) (i32.const 49))
    (i64.const 0)))
