// Package procgroup starts plugin processes as leaders of process groups of
// their own, which die with weir where the system allows (Pdeathsig on
// Linux), and keeps the last lines they write to standard error. The
// go-plugin and Python plugin kinds share it.
package procgroup
