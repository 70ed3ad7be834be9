;; cmdspin.wat: a command module (exports _start) that never exits, for
;; limits.timeout and limits.instances in command mode.
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $forever (br $forever))))
