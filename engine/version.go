package engine

import "runtime/debug"

// version is set at link time: -ldflags "-X github.com/weirflow/weir/engine.version=v1.2.3".
var version string

// Version returns weir's version: the one set at link time, else the module
// version and VCS revision recorded in the binary, else "devel".
func Version() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	v := info.Main.Version
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += "+" + s.Value[:12]
		}
	}
	return v
}
