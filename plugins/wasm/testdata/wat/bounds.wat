;; bounds.wat: a weir-abi-1 reactor whose tools reach for what limits.memory
;; bounds, other than plain memory growth (grow.wat):
;;   "recurse"    calls itself without end: the call stack
;;   "table"      grows a table by 2^20 elements at a time until table.grow
;;                fails, then traps
;;   "tablegrow"  the same, but returns {} when table.grow fails
;;   "bigalloc"   asks for 100 MiB at once with memory.grow, traps if refused
;;   "fill"       grows memory a page at a time, touching every 4 KiB of it,
;;                until memory.grow fails, then traps (the pages count in RSS)
;;   "spin"       never returns
(module
  (memory (export "memory") 2)
  (table $t 1 funcref)

  ;; 1024: the contract (820 bytes)
  (data (i32.const 1024) "{\"abi\":\"weir-abi-1\",\"tools\":[{\"name\":\"recurse\",\"description\":\"Calls itself until the stack runs out.\",\"inputs\":{\"type\":\"object\"},\"outputs\":{\"type\":\"object\"}},{\"name\":\"table\",\"description\":\"Grows a table until it cannot, then traps.\",\"inputs\":{\"type\":\"object\"},\"outputs\":{\"type\":\"object\"}},{\"name\":\"tablegrow\",\"description\":\"Grows a table until it cannot, then returns.\",\"inputs\":{\"type\":\"object\"},\"outputs\":{\"type\":\"object\"}},{\"name\":\"bigalloc\",\"description\":\"Asks for 100 MiB of memory at once, then traps.\",\"inputs\":{\"type\":\"object\"},\"outputs\":{\"type\":\"object\"}},{\"name\":\"fill\",\"description\":\"Grows memory and touches every page until it cannot, then traps.\",\"inputs\":{\"type\":\"object\"},\"outputs\":{\"type\":\"object\"}},{\"name\":\"spin\",\"description\":\"Never returns.\",\"inputs\":{\"type\":\"object\"},\"outputs\":{\"type\":\"object\"}}]}")
  ;; 3072: the output {}
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
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 820)))

  (func $empty (result i64)
    (i64.or (i64.shl (i64.const 3072) (i64.const 32)) (i64.const 2)))

  (func $recurse (param $depth i32) (result i32)
    (call $recurse (i32.add (local.get $depth) (i32.const 1))))

  ;; $grow_table grows the table until it cannot.
  (func $grow_table
    (loop $more
      (br_if $more (i32.ne (table.grow $t (ref.null func) (i32.const 1048576)) (i32.const -1)))))

  (func $fill
    (local $at i32)
    (loop $more
      (local.set $at (i32.shl (memory.size) (i32.const 16)))
      (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1)) (then unreachable))
      (loop $touch
        (i32.store8 (local.get $at) (i32.const 1))
        (local.set $at (i32.add (local.get $at) (i32.const 4096)))
        (br_if $touch (i32.ne (i32.and (local.get $at) (i32.const 65535)) (i32.const 0))))
      (br $more)))

  (func $weir_invoke (export "weir_invoke") (param $tool i32) (param $len i32) (param i32 i32) (result i64)
    (local $c i32)
    (local.set $c (i32.load8_u (local.get $tool)))
    (if (i32.eq (local.get $c) (i32.const 114)) ;; r
      (then (drop (call $recurse (i32.const 0))) (return (call $empty))))
    (if (i32.eq (local.get $c) (i32.const 116)) ;; t
      (then
        (call $grow_table)
        (if (i32.eq (local.get $len) (i32.const 5)) (then unreachable))
        (return (call $empty))))
    (if (i32.eq (local.get $c) (i32.const 98)) ;; b
      (then
        (if (i32.eq (memory.grow (i32.const 1600)) (i32.const -1)) (then unreachable))
        (return (call $empty))))
    (if (i32.eq (local.get $c) (i32.const 102)) ;; f
      (then (call $fill) (return (call $empty))))
    (loop $forever (br $forever))
    unreachable))
