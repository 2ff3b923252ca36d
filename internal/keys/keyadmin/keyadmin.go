// Package keyadmin writes the Bigtable key store that internal/keys reads:
// it creates merchants and creates, rotates and revokes their keys. Every
// key string gets one index row whatever its kind, created only if absent
// (a conditional mutation), so a key string can never serve two merchants
// or two kinds. These are single-row transactions, which only an app
// profile with transactional writes allows (AppProfile); the services,
// which only read keys, never import this package (terraform/contract
// checks both).
package keyadmin

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"

	"cloud.google.com/go/bigtable"
	json "github.com/goccy/go-json"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/internal/keys"
)

// AppProfile is the app profile the admin writes through by default: the
// one Terraform creates with transactional writes (terraform/modules/bigtable).
const AppProfile = "sealer"

// Errors the admin returns.
var (
	ErrMerchantExists = errors.New("keyadmin: merchant already exists")
	ErrNoMerchant     = errors.New("keyadmin: no such merchant")
	ErrNotOwner       = errors.New("keyadmin: the key does not belong to that merchant")
	ErrConflict       = errors.New("keyadmin: the merchant record kept changing; try again")
)

// Admin writes the key table.
type Admin struct {
	t *bigtable.Table
}

// New returns an Admin on the key table of c (c.Open(keys.Table)).
func New(t *bigtable.Table) *Admin { return &Admin{t: t} }

// EnsureTable creates the key table if it is missing (the local stack's
// emulator; in production Terraform creates it).
func EnsureTable(ctx context.Context, ac *bigtable.AdminClient) error {
	err := ac.CreateTableFromConf(ctx, &bigtable.TableConf{TableID: keys.Table,
		ColumnFamilies: map[string]bigtable.Family{keys.Family: {GCPolicy: bigtable.MaxVersionsPolicy(1)}}})
	if err != nil && status.Code(err) != codes.AlreadyExists {
		return fmt.Errorf("keyadmin: create table %s: %w", keys.Table, err)
	}
	return nil
}

// kinds maps a kind to its key list in a Merchant and a prefix for
// generated keys.
var kinds = map[string]struct {
	list   func(*keys.Merchant) *[]string
	prefix string
}{
	keys.KindWrite:  {func(m *keys.Merchant) *[]string { return &m.WriteKeys }, "wk_"},
	keys.KindSecret: {func(m *keys.Merchant) *[]string { return &m.APISecrets }, "sk_"},
	keys.KindRead:   {func(m *keys.Merchant) *[]string { return &m.ReadKeys }, "rk_"},
}

// Kinds lists the key kinds.
func Kinds() []string { return []string{keys.KindWrite, keys.KindSecret, keys.KindRead} }

// NewKey returns a fresh random key of a kind (128 bits, hex).
func NewKey(kind string) (string, error) {
	k, ok := kinds[kind]
	if !ok {
		return "", fmt.Errorf("keyadmin: unknown key kind %q (want write, secret or read)", kind)
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("keyadmin: random key: %w", err)
	}
	return k.prefix + hex.EncodeToString(b), nil
}

// CreateMerchant creates m with the keys it lists (none is fine) and
// returns it. The id must be new and every key string unused by any
// merchant and kind; on any error nothing is left behind.
func (a *Admin) CreateMerchant(ctx context.Context, m keys.Merchant) (keys.Merchant, error) {
	if !event.ValidMerchantID(m.ID) {
		return m, fmt.Errorf("keyadmin: invalid merchant id %q (1-64 of a-z, 0-9, '_', '-')", m.ID)
	}
	if m.RateLimit != nil {
		if err := m.RateLimit.Validate(); err != nil {
			return m, fmt.Errorf("keyadmin: merchant %q: %w", m.ID, err)
		}
	}
	// Claim the merchant id with an empty key set, then each key, then
	// write the full record.
	claimed := m
	claimed.WriteKeys, claimed.APISecrets, claimed.ReadKeys = nil, nil, nil
	b, err := json.Marshal(claimed)
	if err != nil {
		return m, err
	}
	if err := a.createRow(ctx, keys.MerchantRow(m.ID), keys.ColMerchant, b); err != nil {
		if errors.Is(err, errRowExists) {
			return m, fmt.Errorf("%w: %q", ErrMerchantExists, m.ID)
		}
		return m, err
	}
	var added []string
	undo := func() {
		for _, k := range added {
			_ = a.t.Apply(context.WithoutCancel(ctx), keys.IndexRow(k), deleteRow())
		}
		_ = a.t.Apply(context.WithoutCancel(ctx), keys.MerchantRow(m.ID), deleteRow())
	}
	for _, kind := range Kinds() {
		for _, k := range *kinds[kind].list(&m) {
			if err := a.claimKey(ctx, m.ID, kind, k); err != nil {
				undo()
				return m, err
			}
			added = append(added, k)
		}
	}
	if err := a.updateMerchant(ctx, m.ID, func(cur *keys.Merchant) error { *cur = m; return nil }); err != nil {
		undo()
		return m, err
	}
	return m, nil
}

// AddKey gives the merchant a key of a kind: key, or a new random one when
// key is empty. It returns the key.
func (a *Admin) AddKey(ctx context.Context, merchant, kind, key string) (string, error) {
	if _, ok := kinds[kind]; !ok {
		return "", fmt.Errorf("keyadmin: unknown key kind %q (want write, secret or read)", kind)
	}
	if key == "" {
		var err error
		if key, err = NewKey(kind); err != nil {
			return "", err
		}
	}
	if _, ok, err := a.Merchant(ctx, merchant); err != nil {
		return "", err
	} else if !ok {
		return "", fmt.Errorf("%w: %q", ErrNoMerchant, merchant)
	}
	if err := a.claimKey(ctx, merchant, kind, key); err != nil {
		return "", err
	}
	err := a.updateMerchant(ctx, merchant, func(m *keys.Merchant) error {
		l := kinds[kind].list(m)
		if !slices.Contains(*l, key) {
			*l = append(*l, key)
		}
		return nil
	})
	if err != nil {
		_ = a.t.Apply(context.WithoutCancel(ctx), keys.IndexRow(key), deleteRow())
		return "", err
	}
	return key, nil
}

// Revoke removes a key of the merchant. Services stop accepting it once
// their cached lookup expires (keys.Config.CacheTTL).
func (a *Admin) Revoke(ctx context.Context, merchant, key string) error {
	ref, ok, err := a.ref(ctx, key)
	if err != nil {
		return err
	}
	if !ok || ref.Merchant != merchant {
		return fmt.Errorf("%w %q", ErrNotOwner, merchant)
	}
	refJSON, _ := json.Marshal(ref)
	var matched bool
	cond := bigtable.NewCondMutation(valueIs(keys.ColRef, refJSON), deleteRow(), nil)
	if err := a.t.Apply(ctx, keys.IndexRow(key), cond, bigtable.GetCondMutationResult(&matched)); err != nil {
		return fmt.Errorf("keyadmin: revoke: %w", err)
	}
	if !matched {
		return ErrConflict
	}
	return a.updateMerchant(ctx, merchant, func(m *keys.Merchant) error {
		l := kinds[ref.Kind].list(m)
		*l = slices.DeleteFunc(*l, func(k string) bool { return k == key })
		return nil
	})
}

// Rotate gives the merchant a new key of old's kind and revokes old
// (keepOld leaves it working, to revoke once clients have moved). It
// returns the new key.
func (a *Admin) Rotate(ctx context.Context, merchant, old string, keepOld bool) (string, error) {
	ref, ok, err := a.ref(ctx, old)
	if err != nil {
		return "", err
	}
	if !ok || ref.Merchant != merchant {
		return "", fmt.Errorf("%w %q", ErrNotOwner, merchant)
	}
	key, err := a.AddKey(ctx, merchant, ref.Kind, "")
	if err != nil {
		return "", err
	}
	if keepOld {
		return key, nil
	}
	return key, a.Revoke(ctx, merchant, old)
}

// Merchant reads a merchant's record.
func (a *Admin) Merchant(ctx context.Context, id string) (keys.Merchant, bool, error) {
	v, ok, err := a.cell(ctx, keys.MerchantRow(id), keys.ColMerchant)
	if err != nil || !ok {
		return keys.Merchant{}, ok, err
	}
	var m keys.Merchant
	if err := json.Unmarshal(v, &m); err != nil {
		return m, false, fmt.Errorf("keyadmin: merchant %q: %w", id, err)
	}
	return m, true, nil
}

// Import creates every merchant of a key file (validated as a whole
// first); merchants that exist already are skipped. It returns how many
// were created.
func (a *Admin) Import(ctx context.Context, f keys.File) (int, error) {
	if _, err := keys.NewSet(f); err != nil {
		return 0, err
	}
	n := 0
	for _, m := range f.Merchants {
		_, err := a.CreateMerchant(ctx, m)
		if errors.Is(err, ErrMerchantExists) {
			continue
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func (a *Admin) ref(ctx context.Context, key string) (keys.Ref, bool, error) {
	v, ok, err := a.cell(ctx, keys.IndexRow(key), keys.ColRef)
	if err != nil || !ok {
		return keys.Ref{}, ok, err
	}
	var r keys.Ref
	if err := json.Unmarshal(v, &r); err != nil {
		return r, false, fmt.Errorf("keyadmin: index row: %w", err)
	}
	return r, true, nil
}

// claimKey creates the key's index row, refusing a key string that any
// merchant already uses for any kind.
func (a *Admin) claimKey(ctx context.Context, merchant, kind, key string) error {
	if key == "" {
		return fmt.Errorf("keyadmin: merchant %q: empty %s key", merchant, kind)
	}
	b, _ := json.Marshal(keys.Ref{Merchant: merchant, Kind: kind})
	if err := a.createRow(ctx, keys.IndexRow(key), keys.ColRef, b); err != nil {
		if errors.Is(err, errRowExists) {
			return fmt.Errorf("%w: merchant %q: a %s key is already in use (by some merchant, as some kind); choose another", keys.ErrDuplicateKey, merchant, kind)
		}
		return err
	}
	return nil
}

var errRowExists = errors.New("row exists")

// createRow writes one cell into a row only if the row is empty.
func (a *Admin) createRow(ctx context.Context, row, col string, v []byte) error {
	set := bigtable.NewMutation()
	set.Set(keys.Family, col, bigtable.ServerTime, v)
	var matched bool
	cond := bigtable.NewCondMutation(bigtable.PassAllFilter(), nil, set)
	if err := a.t.Apply(ctx, row, cond, bigtable.GetCondMutationResult(&matched)); err != nil {
		return fmt.Errorf("keyadmin: write %s (the app profile must allow transactional writes: %s): %w", row[:2], AppProfile, err)
	}
	if matched {
		return errRowExists
	}
	return nil
}

// updateMerchant rewrites the merchant's record with fn, only if nobody
// changed it meanwhile (compare and set on the whole value).
func (a *Admin) updateMerchant(ctx context.Context, id string, fn func(*keys.Merchant) error) error {
	for range 5 {
		cur, ok, err := a.cell(ctx, keys.MerchantRow(id), keys.ColMerchant)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: %q", ErrNoMerchant, id)
		}
		var m keys.Merchant
		if err := json.Unmarshal(cur, &m); err != nil {
			return fmt.Errorf("keyadmin: merchant %q: %w", id, err)
		}
		if err := fn(&m); err != nil {
			return err
		}
		next, err := json.Marshal(m)
		if err != nil {
			return err
		}
		if bytes.Equal(next, cur) {
			return nil
		}
		set := bigtable.NewMutation()
		set.Set(keys.Family, keys.ColMerchant, bigtable.ServerTime, next)
		var matched bool
		cond := bigtable.NewCondMutation(valueIs(keys.ColMerchant, cur), set, nil)
		if err := a.t.Apply(ctx, keys.MerchantRow(id), cond, bigtable.GetCondMutationResult(&matched)); err != nil {
			return fmt.Errorf("keyadmin: update merchant %q: %w", id, err)
		}
		if matched {
			return nil
		}
	}
	return ErrConflict
}

// valueIs matches a row whose latest cell in col is exactly v.
func valueIs(col string, v []byte) bigtable.Filter {
	return bigtable.ChainFilters(
		bigtable.FamilyFilter("^"+keys.Family+"$"),
		bigtable.ColumnFilter("^"+regexp.QuoteMeta(col)+"$"),
		bigtable.LatestNFilter(1),
		bigtable.ValueFilter("^"+regexp.QuoteMeta(string(v))+"$"),
	)
}

func (a *Admin) cell(ctx context.Context, row, col string) ([]byte, bool, error) {
	r, err := a.t.ReadRow(ctx, row, bigtable.RowFilter(bigtable.ChainFilters(
		bigtable.ColumnFilter("^"+regexp.QuoteMeta(col)+"$"), bigtable.LatestNFilter(1))))
	if err != nil {
		return nil, false, fmt.Errorf("keyadmin: read: %w", err)
	}
	for _, it := range r[keys.Family] {
		return it.Value, true, nil
	}
	return nil, false, nil
}

func deleteRow() *bigtable.Mutation {
	m := bigtable.NewMutation()
	m.DeleteRow()
	return m
}
