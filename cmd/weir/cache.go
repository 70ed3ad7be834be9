package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/engine/cache"
	"github.com/weirflow/weir/internal/bytesize"
)

// noCacheFlag adds --no-cache to a command that runs flows.
func noCacheFlag(cmd *cobra.Command, a *app) {
	cmd.Flags().BoolVar(&a.noCache, "no-cache", false, "neither read nor write the node cache (see weir cache)")
}

// cacheStore is the node cache under the home folder.
func (a *app) cacheStore() (*cache.Store, error) {
	dir, err := a.homeDir()
	if err != nil {
		return nil, err
	}
	return cache.Open(filepath.Join(dir, "cache"), cache.Options{}), nil
}

// nodeCache is the engine's cache: none with --no-cache, or without a
// home folder to keep it in, where flows run uncached rather than fail.
func (a *app) nodeCache() engine.Cache {
	if a.noCache {
		return nil
	}
	s, err := a.cacheStore()
	if err != nil {
		return nil
	}
	return s
}

// nodeStatus is a node's status in a table: "succeeded (cached)" when its
// outputs came from the node cache.
func nodeStatus(n engine.NodeResult) string {
	if n.Cached {
		return string(n.Status) + " (cached)"
	}
	return string(n.Status)
}

func newCache(app *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cache",
		Short: "Show, prune and clear the node cache",
		Long: `Nodes whose flow sets cache: true keep their outputs in the node cache, a
folder of files under the weir home folder (--home, $WEIR_HOME or the user
data folder), and reuse them when the same tool gets the same inputs again.
These commands look after that folder. weir run, batch and serve read and
write it unless given --no-cache.`,
		Example: `  weir cache info
  weir cache prune --older-than 720h --max-size 1GiB
  weir cache clear`,
		Args: args(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newCacheInfo(app), newCachePrune(app), newCacheClear(app))
	return cmd
}

func newCacheInfo(app *app) *cobra.Command {
	return &cobra.Command{
		Use:     "info",
		Short:   "Say where the node cache is and what it holds",
		Example: `  weir cache info`,
		Args:    args(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := app.cacheStore()
			if err != nil {
				return err
			}
			u, err := s.Usage()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s, %s\n", s.Dir(), entries(u.Entries), bytesize.Round(u.Bytes))
			return nil
		},
	}
}

func newCachePrune(app *app) *cobra.Command {
	var (
		olderThan time.Duration
		maxSize   string
	)
	cmd := &cobra.Command{
		Use:   "prune [flags]",
		Short: "Remove old entries of the node cache",
		Long: `Remove the entries written longer ago than --older-than, then the oldest
ones until the rest fit in --max-size. Give at least one of them.`,
		Example: `  weir cache prune --older-than 720h
  weir cache prune --max-size 500MiB`,
		Args: args(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			o := cache.PruneOptions{OlderThan: olderThan}
			if maxSize != "" {
				n, ok := bytesize.Parse(maxSize)
				if !ok {
					return usageError{fmt.Errorf("--max-size %q: give a size such as 1GiB or 500MB", maxSize)}
				}
				o.MaxBytes = n
			}
			if o.OlderThan <= 0 && o.MaxBytes <= 0 {
				return usageError{fmt.Errorf("prune needs --older-than DURATION or --max-size SIZE")}
			}
			s, err := app.cacheStore()
			if err != nil {
				return err
			}
			removed, err := s.Prune(o)
			fmt.Fprintf(cmd.OutOrStdout(), "removed %s, %s\n", entries(removed.Entries), bytesize.Round(removed.Bytes))
			return err
		},
	}
	cmd.Flags().DurationVar(&olderThan, "older-than", 0, "remove entries written longer ago than this, such as 720h")
	cmd.Flags().StringVar(&maxSize, "max-size", "", "then remove the oldest entries until the rest hold at most `SIZE`, such as 1GiB")
	return cmd
}

func newCacheClear(app *app) *cobra.Command {
	return &cobra.Command{
		Use:     "clear",
		Short:   "Remove every entry of the node cache",
		Example: `  weir cache clear`,
		Args:    args(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := app.cacheStore()
			if err != nil {
				return err
			}
			removed, err := s.Clear()
			fmt.Fprintf(cmd.OutOrStdout(), "removed %s, %s\n", entries(removed.Entries), bytesize.Round(removed.Bytes))
			return err
		},
	}
}

// entries says n entries: "1 entry", "2 entries".
func entries(n int) string {
	if n == 1 {
		return "1 entry"
	}
	return fmt.Sprintf("%d entries", n)
}
