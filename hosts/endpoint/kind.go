package endpoint

import (
	"errors"

	"github.com/weirflow/weir/hosts"
)

// Kind is the endpoint kind of host, for a hosts.Registry: a Host whose
// client reaches the settings' URL with their Token.
func Kind() hosts.Kind {
	return hosts.Kind{
		Name:       "endpoint",
		Takes:      []string{"url", "token"},
		OwnSecrets: true,
		New: func(s hosts.Settings) (hosts.Host, error) {
			if s.URL == "" {
				return nil, errors.New("--host endpoint needs --url, the address of a weir serve with --admin")
			}
			return &Host{Client: Client{URL: s.URL, Token: s.Token}}, nil
		},
	}
}
