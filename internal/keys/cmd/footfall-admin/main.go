// Command footfall-admin manages merchants and their keys in the Bigtable
// key store that ingest and the query API read (internal/keys,
// docs/keys.md): create merchants; create, rotate and revoke keys; show a
// merchant; import a key file. It writes through the "sealer" app profile,
// the one that allows the single-row transactions that keep every key
// string unique (keyadmin.AppProfile).
//
// Production (application default credentials with roles/bigtable.user on
// the instance):
//
//	footfall-admin -bigtable-project P create-merchant shop-42
//
// The local stack's emulator (BIGTABLE_EMULATOR_HOST=127.0.0.1:8086):
//
//	footfall-admin create-table && footfall-admin import keys.json
//
// It lives beside the key store it writes (internal/keys), not under
// ingest or queryapi: both services read the same keys.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"cloud.google.com/go/bigtable"
	json "github.com/goccy/go-json"

	"github.com/footfall/footfall/internal/keys"
	"github.com/footfall/footfall/internal/keys/keyadmin"
)

const usage = `Usage: footfall-admin [flags] COMMAND ARGS

Commands:
  create-merchant ID [-rate-limit N -burst M]  create a merchant with one new key of each kind
  add-key ID KIND [KEY]                        give a merchant a key (write, secret or read); a new random one without KEY
  rotate ID KEY [-keep-old]                    replace KEY with a new key of its kind (-keep-old: revoke it later)
  revoke ID KEY                                revoke a key (services stop accepting it within KEYS_CACHE_TTL)
  show ID                                      print a merchant's record
  import FILE                                  create every merchant of a key file (docs/keys.md) that does not exist yet
  create-table                                 create the key table (the emulator; Terraform creates it in production)

Flags:
`

// errUsage marks errors in how the command was called (exit status 2).
type errUsage struct{ error }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "footfall-admin:", err)
		var u errUsage
		if errors.As(err, &u) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("footfall-admin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	project := fs.String("bigtable-project", "footfall-local", "Bigtable project")
	instance := fs.String("bigtable-instance", "footfall", "Bigtable instance")
	profile := fs.String("bigtable-app-profile", keyadmin.AppProfile, "app profile (must allow transactional writes; the emulator ignores it)")
	rate := fs.Float64("rate-limit", 0, "create-merchant: the merchant's own ingest rate limit in events/s (0: the service default)")
	burst := fs.Int("burst", 0, "create-merchant: burst of the rate limit (default 2 × rate-limit)")
	keepOld := fs.Bool("keep-old", false, "rotate: keep the old key working")
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		return errUsage{err}
	}
	// Flags may also follow the command's arguments.
	var rest []string
	for rem := fs.Args(); len(rem) > 0; rem = fs.Args() {
		rest = append(rest, rem[0])
		if err := fs.Parse(rem[1:]); err != nil {
			return errUsage{err}
		}
	}
	if len(rest) == 0 {
		fs.Usage()
		return errUsage{errors.New("no command")}
	}
	cmd, rest := rest[0], rest[1:]
	need := func(n int) error {
		if len(rest) < n {
			return errUsage{fmt.Errorf("%s needs %d argument(s), got %d", cmd, n, len(rest))}
		}
		return nil
	}
	if cmd == "create-table" {
		ac, err := bigtable.NewAdminClient(ctx, *project, *instance)
		if err != nil {
			return err
		}
		defer ac.Close()
		if err := keyadmin.EnsureTable(ctx, ac); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "table %s ready\n", keys.Table)
		return nil
	}
	c, err := bigtable.NewClientWithConfig(ctx, *project, *instance, bigtable.ClientConfig{AppProfile: *profile})
	if err != nil {
		return err
	}
	defer c.Close()
	a := keyadmin.New(c.Open(keys.Table))
	out := json.NewEncoder(stdout)
	out.SetIndent("", "  ")
	switch cmd {
	case "create-merchant":
		if err := need(1); err != nil {
			return err
		}
		m := keys.Merchant{ID: rest[0]}
		if *rate > 0 {
			b := *burst
			if b == 0 {
				b = int(2 * *rate)
			}
			m.RateLimit = &keys.Limit{EventsPerSecond: *rate, Burst: b}
		}
		for _, kind := range keyadmin.Kinds() {
			k, err := keyadmin.NewKey(kind)
			if err != nil {
				return err
			}
			switch kind {
			case keys.KindWrite:
				m.WriteKeys = []string{k}
			case keys.KindSecret:
				m.APISecrets = []string{k}
			case keys.KindRead:
				m.ReadKeys = []string{k}
			}
		}
		if m, err = a.CreateMerchant(ctx, m); err != nil {
			return err
		}
		return out.Encode(m)
	case "add-key":
		if err := need(2); err != nil {
			return err
		}
		key := ""
		if len(rest) > 2 {
			key = rest[2]
		}
		k, err := a.AddKey(ctx, rest[0], rest[1], key)
		if err != nil {
			return err
		}
		return out.Encode(map[string]string{"merchant": rest[0], "kind": rest[1], "key": k})
	case "rotate":
		if err := need(2); err != nil {
			return err
		}
		k, err := a.Rotate(ctx, rest[0], rest[1], *keepOld)
		if err != nil {
			return err
		}
		return out.Encode(map[string]string{"merchant": rest[0], "key": k, "old_key_revoked": strconv.FormatBool(!*keepOld)})
	case "revoke":
		if err := need(2); err != nil {
			return err
		}
		if err := a.Revoke(ctx, rest[0], rest[1]); err != nil {
			return err
		}
		return out.Encode(map[string]string{"merchant": rest[0], "revoked": "true"})
	case "show":
		if err := need(1); err != nil {
			return err
		}
		m, ok, err := a.Merchant(ctx, rest[0])
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: %q", keyadmin.ErrNoMerchant, rest[0])
		}
		return out.Encode(m)
	case "import":
		if err := need(1); err != nil {
			return err
		}
		b, err := os.ReadFile(rest[0])
		if err != nil {
			return err
		}
		var f keys.File
		if err := json.Unmarshal(b, &f); err != nil {
			return fmt.Errorf("%s: %w", rest[0], err)
		}
		n, err := a.Import(ctx, f)
		if err != nil {
			return err
		}
		return out.Encode(map[string]int{"merchants_created": n, "merchants_in_file": len(f.Merchants)})
	}
	fs.Usage()
	return errUsage{fmt.Errorf("unknown command %q", cmd)}
}
