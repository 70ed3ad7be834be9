;; command.wat: a command module (exports _start and memory, imports WASI
;; fd_read, fd_write and proc_exit) for weir's command mode. It copies stdin
;; to stdout, so its one tool "run" echoes its inputs JSON; when stdin is
;; exactly {"fail":true} it writes "boom" to stderr and exits with code 3.
;;
;; Its contract is the custom section "weir-contract", which the Makefile
;; appends after assembling: wabt 1.0.32 parses (@custom ...) annotations
;; with --enable-annotations but drops them without writing a section.
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 2)

  ;; 0: an iovec {ptr, len}; 8: the count fd_read or fd_write returns
  (data (i32.const 1024) "{\"fail\":true}") ;; 13 bytes
  (data (i32.const 1040) "boom")

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

  (func $_start (export "_start")
    (local $len i32)  ;; bytes of stdin read into the buffer at 64 KiB
    (local $at i32)
    ;; Read all of stdin, keeping at least a page free after what was read.
    (block $eof
      (loop $read
        (if (i32.gt_u
              (i32.add (i32.const 131072) (local.get $len))
              (i32.shl (memory.size) (i32.const 16)))
          (then
            (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1))
              (then (call $proc_exit (i32.const 70)) unreachable))))
        (i32.store (i32.const 0) (i32.add (i32.const 65536) (local.get $len)))
        (i32.store (i32.const 4) (i32.const 65536))
        (if (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8))
          (then (call $proc_exit (i32.const 71)) unreachable))
        (br_if $eof (i32.eqz (i32.load (i32.const 8))))
        (local.set $len (i32.add (local.get $len) (i32.load (i32.const 8))))
        (br $read)))
    (if (call $is (i32.const 65536) (local.get $len) (i32.const 1024) (i32.const 13))
      (then
        (i32.store (i32.const 0) (i32.const 1040))
        (i32.store (i32.const 4) (i32.const 4))
        (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
        (call $proc_exit (i32.const 3))
        unreachable))
    ;; Write it all to stdout.
    (local.set $at (i32.const 65536))
    (block $done
      (loop $write
        (br_if $done (i32.eqz (local.get $len)))
        (i32.store (i32.const 0) (local.get $at))
        (i32.store (i32.const 4) (local.get $len))
        (if (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))
          (then (call $proc_exit (i32.const 71)) unreachable))
        (local.set $at (i32.add (local.get $at) (i32.load (i32.const 8))))
        (local.set $len (i32.sub (local.get $len) (i32.load (i32.const 8))))
        (br $write)))))
