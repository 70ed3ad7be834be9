;; sleep.wat: a weir-abi-1 reactor whose one tool, "sleep", asks WASI's
;; poll_oneoff to sleep for an hour, then returns {}. With the clock
;; granted, the host really sleeps: limits.timeout must still end the call.
(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)

  ;; 1024: the contract (134 bytes)
  (data (i32.const 1024) "{\"abi\":\"weir-abi-1\",\"tools\":[{\"name\":\"sleep\",\"description\":\"Sleeps an hour.\",\"inputs\":{\"type\":\"object\"},\"outputs\":{\"type\":\"object\"}}]}")
  (data (i32.const 3072) "{}")

  (func (export "weir_alloc") (param i32) (result i32) (i32.const 65536))

  (func (export "weir_describe") (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 134)))

  (func (export "weir_invoke") (param i32 i32 i32 i32) (result i64)
    ;; 0: one clock subscription (48 bytes): userdata, tag 0 (clock), then
    ;; at 16 the clock id (1, monotonic), at 24 the timeout in ns (an hour)
    (i64.store (i32.const 0) (i64.const 7))
    (i32.store8 (i32.const 8) (i32.const 0))
    (i32.store (i32.const 16) (i32.const 1))
    (i64.store (i32.const 24) (i64.const 3600000000000))
    (i64.store (i32.const 32) (i64.const 0))
    (i32.store16 (i32.const 40) (i32.const 0))
    ;; 64: the event (32 bytes); 128: the number of events
    (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))
    (i64.or (i64.shl (i64.const 3072) (i64.const 32)) (i64.const 2))))
