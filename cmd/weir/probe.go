package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func newProbe() *cobra.Command {
	var path string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "probe [flags] URL",
		Short: "Exit 0 when the weir serve at URL is ready",
		Long: `Ask a weir serve whether it is ready (GET URL/readyz) and exit 0 when it
answers 200, 1 otherwise. Container images that weir builds have no shell
or curl; their health check runs this.`,
		Example: `  weir probe http://127.0.0.1:8080
  weir probe --path /healthz http://127.0.0.1:8080`,
		Args: args(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			u := strings.TrimRight(a[0], "/") + path
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			if err != nil {
				return usageError{fmt.Errorf("probe: %w", err)}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return fmt.Errorf("probe: %w", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("probe: %s answered %s", u, resp.Status)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", u, resp.Status)
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "path", "/readyz", "the path to ask")
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "give up after this long")
	return cmd
}
