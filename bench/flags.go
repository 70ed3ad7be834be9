package bench

import "flag"

// FlagSet reports whether the command line set the flag called name, so
// that a -quick default gives way to a value the user chose.
func FlagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
