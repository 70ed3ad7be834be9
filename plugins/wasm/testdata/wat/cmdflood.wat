;; cmdflood.wat: a command module (exports _start) that writes 64 KiB of "x"
;; to stdout again and again without end, for limits.output in command mode:
;; the host must stop it at the cap, not at the timeout.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "_start")
    (memory.fill (i32.const 65536) (i32.const 120) (i32.const 65536))
    ;; 0: an iovec {65536, 65536}; 8: bytes written
    (i32.store (i32.const 0) (i32.const 65536))
    (i32.store (i32.const 4) (i32.const 65536))
    (loop $more
      (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (br $more))))
