package local

import "github.com/weirflow/weir/hosts"

// Kind is the local kind of host, for a hosts.Registry: a Host in the
// settings' StateDir, listening on Addr.
func Kind() hosts.Kind {
	return hosts.Kind{
		Name:  "local",
		Takes: []string{"addr"},
		New: func(s hosts.Settings) (hosts.Host, error) {
			return &Host{Dir: s.StateDir, Addr: s.Addr}, nil
		},
	}
}
