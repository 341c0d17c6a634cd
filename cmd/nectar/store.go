package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/secret"
	"github.com/nectar-run/nectar/store/bolt"
	"github.com/nectar-run/nectar/store/open"
)

func storeCmd(g *globals) *cobra.Command {
	return group("store", "Check the store in the data directory: its file and its master key", "", storeCheckCmd(g))
}

func storeCheckCmd(g *globals) *cobra.Command {
	var acceptPrevious bool
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check the bbolt file for damage, and the master key against the store",
		Long: `Reads every page of the bbolt file nectar.db in --data-dir (both meta pages,
every bucket, key and value) and runs bbolt's own consistency check, without
changing the file; stop nectar serve first (the check refuses to run while
it serves --data-dir). For a PostgreSQL store, use PostgreSQL's own tools (such as
amcheck) for the data.

Then it checks the master key (NECTAR_MASTER_KEY, or master.key in
--data-dir) against the key ids of the store's sealed values, as nectar serve
does at start, and prints the key ids; it never generates a key.

It exits 0 when all is well, 1 with the problem otherwise. A damaged file:
stop nectar and restore it from a backup.

A file whose only damage is one of its two meta pages is refused by every
command: bbolt would open it at the commit of the other page, and if the
damaged page held the newest commit, that write would be lost without a word.
--accept-previous-commit is the explicit choice to open it there anyway: it
rewrites the damaged meta page from the sound one (losing the newest commit if
the damaged page held it), then checks the file again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if err := refuseWhileServing(g, "nectar store check"); err != nil {
				return err
			}
			kind, _, err := open.Choose(g.storeDSN)
			if err != nil {
				return err
			}
			if kind == open.Bolt {
				path := filepath.Join(g.dataDir, bolt.FileName)
				if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("no store in %s (%s does not exist)", g.dataDir, bolt.FileName)
				}
				err := bolt.Check(path)
				if err != nil && acceptPrevious {
					st, oerr := bolt.Open(g.dataDir, bolt.WithAcceptPreviousCommit())
					if oerr != nil {
						return oerr
					}
					if cerr := st.Close(); cerr != nil {
						return cerr
					}
					fmt.Fprintf(g.stdout, "%s: opened at the previous commit; the damaged meta page is rewritten\n", path)
					err = bolt.Check(path)
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "%s: ok\n", path)
			} else if acceptPrevious {
				return errors.New("--accept-previous-commit is for the bbolt store (nectar.db); this store is PostgreSQL")
			}
			st, err := g.data().Store(ctx)
			if err != nil {
				return err
			}
			ks, err := open.ReadKeyState(ctx, st, accounts.SealedBuckets...)
			if err != nil {
				return err
			}
			key, source, err := secret.FindKey(g.dataDir)
			switch {
			case errors.Is(err, fs.ErrNotExist) && len(ks.Sealed) == 0:
				fmt.Fprintln(g.stdout, "master key: none yet, and nothing sealed")
				return nil
			case errors.Is(err, fs.ErrNotExist):
				return fmt.Errorf("%w: %s is not set and %s does not exist, but this store's secrets were sealed with key id %s",
					open.ErrNoKey, secret.EnvKey, filepath.Join(g.dataDir, secret.KeyFile), ks.IDs())
			case err != nil:
				return err
			}
			s, err := secret.NewSealer(key)
			if err != nil {
				return err
			}
			if err := ks.Accepts(s.KeyID()); err != nil {
				return fmt.Errorf("%w (key from %s)", err, source)
			}
			if len(ks.Sealed) > 1 {
				return fmt.Errorf("a key rotation is unfinished: sealed values carry key ids %s; run nectar accounts rotate-key again", ks.IDs())
			}
			fmt.Fprintf(g.stdout, "master key: ok, id %s (from %s); sealed values: %d\n", s.KeyID(), source, ks.Sealed[s.KeyID()])
			return nil
		},
	}
	cmd.Flags().BoolVar(&acceptPrevious, "accept-previous-commit", false,
		"when one meta page of nectar.db is damaged, rewrite it from the other, accepting the loss of the newest commit")
	return cmd
}
