package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

var accountTests = []test{
	{"Accounts", testAccounts},
	{"AccountsRefused", testAccountsRefused},
	{"APITokens", testAPITokens},
	{"APITokensConcurrent", testAPITokensConcurrent},
}

func hashOf(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

func testAccounts(t *testing.T, e *env) {
	ctx := e.ctx(t)
	list, err := e.Accounts(ctx)
	must(t, err)
	eq(t, "accounts of a new store", len(list), 0)

	old := time.Date(2026, 1, 2, 3, 4, 5, 678901234, time.FixedZone("X", 7200))
	a := store.Account{Login: "ana", Name: "Ana", Role: store.RoleAdmin, PasswordHash: "$2a$hash", CreatedAt: old}
	must(t, e.PutAccount(ctx, &a))
	if a.ID == 0 || a.UpdatedAt.IsZero() {
		t.Fatalf("put account did not set id and times: %+v", a)
	}
	eq(t, "created at, normalized", a.CreatedAt, old.UTC().Truncate(time.Microsecond))
	s := store.Account{Login: "acme.user", Role: store.RoleSMSClient, Client: "acme", PasswordHash: "$2a$x"}
	must(t, e.PutAccount(ctx, &s))

	got, err := e.Account(ctx, "ana")
	must(t, err)
	eq(t, "stored account", fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", a))

	// A replacement keeps the id and the creation time.
	b := store.Account{Login: "ana", Name: "Ana B.", Role: store.RoleAgent, PasswordHash: "$2a$other", Disabled: true}
	must(t, e.PutAccount(ctx, &b))
	eq(t, "same id", b.ID, a.ID)
	eq(t, "creation kept", b.CreatedAt, a.CreatedAt)
	got, err = e.Account(ctx, "ana")
	must(t, err)
	eq(t, "replaced", fmt.Sprint(got.Name, got.Role, got.PasswordHash, got.Disabled), fmt.Sprint("Ana B.", store.RoleAgent, "$2a$other", true))

	_, err = e.Account(ctx, "Ana")
	wantErr(t, err, store.ErrNotFound) // logins are exact
	list, err = e.Accounts(ctx)
	must(t, err)
	eq(t, "accounts", len(list), 2)
	eq(t, "by login", list[0].Login+","+list[1].Login, "acme.user,ana")
	eq(t, "client", list[0].Client, "acme")
}

func testAccountsRefused(t *testing.T, e *env) {
	ctx := e.ctx(t)
	for _, a := range []store.Account{
		{Login: "", Role: store.RoleAdmin, PasswordHash: "h"},
		{Login: "has space", Role: store.RoleAdmin, PasswordHash: "h"},
		{Login: "nul\x00", Role: store.RoleAdmin, PasswordHash: "h"},
		{Login: "ñandú", Role: store.RoleAdmin, PasswordHash: "h"},
		{Login: string(make([]byte, 65)), Role: store.RoleAdmin, PasswordHash: "h"},
		{Login: "x", Role: "root", PasswordHash: "h"},
		{Login: "x", Role: store.RoleSMSClient, PasswordHash: "h"},
		{Login: "x", Role: store.RoleAgent, Client: "acme", PasswordHash: "h"},
		{Login: "x", Role: store.RoleAgent},
	} {
		wantErr(t, e.PutAccount(ctx, &a), store.ErrInvalid)
	}
	list, err := e.Accounts(ctx)
	must(t, err)
	eq(t, "nothing stored", len(list), 0)
}

func testAPITokens(t *testing.T, e *env) {
	ctx := e.ctx(t)
	tk := store.APIToken{Name: "billing", Client: "acme", Hash: hashOf("secret-1")}
	must(t, e.CreateAPIToken(ctx, &tk))
	if tk.ID == 0 || tk.CreatedAt.IsZero() {
		t.Fatalf("create did not set id and time: %+v", tk)
	}
	got, err := e.APITokenByHash(ctx, hashOf("secret-1"))
	must(t, err)
	eq(t, "by hash", fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", tk))
	_, err = e.APITokenByHash(ctx, hashOf("secret-2"))
	wantErr(t, err, store.ErrNotFound)

	// A live name is taken; a hash is taken for good.
	wantErr(t, e.CreateAPIToken(ctx, &store.APIToken{Name: "billing", Hash: hashOf("secret-2")}), store.ErrDuplicate)
	wantErr(t, e.CreateAPIToken(ctx, &store.APIToken{Name: "other", Hash: hashOf("secret-1")}), store.ErrDuplicate)
	for _, bad := range []store.APIToken{
		{Name: "", Hash: hashOf("x")},
		{Name: "ctl\n", Hash: hashOf("x")},
		{Name: "x", Hash: "short"},
		{Name: "x", Hash: hashOf("x")[:63] + "G"},
		{Name: "x", Hash: "AB" + hashOf("x")[2:]}, // upper case: one spelling only
	} {
		wantErr(t, e.CreateAPIToken(ctx, &bad), store.ErrInvalid)
	}

	// Revoked: not found by hash, the name free again, still listed.
	at := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	must(t, e.RevokeAPIToken(ctx, "billing", at))
	_, err = e.APITokenByHash(ctx, hashOf("secret-1"))
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, e.RevokeAPIToken(ctx, "billing", time.Time{}), store.ErrNotFound)
	wantErr(t, e.RevokeAPIToken(ctx, "never", time.Time{}), store.ErrNotFound)
	again := store.APIToken{Name: "billing", Hash: hashOf("secret-3")}
	must(t, e.CreateAPIToken(ctx, &again))
	list, err := e.APITokens(ctx)
	must(t, err)
	eq(t, "tokens", len(list), 2)
	eq(t, "revoked at", list[0].RevokedAt, at)
	eq(t, "the new one live", list[1].RevokedAt.IsZero(), true)
	eq(t, "by id", list[0].ID < list[1].ID, true)
}

// testAPITokensConcurrent creates and revokes tokens of one name from
// many goroutines on two handles: at most one live token has it at any
// time, and each revocation takes one.
func testAPITokensConcurrent(t *testing.T, e *env) {
	ctx := e.ctx(t)
	second := e.second(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	created, revoked := 0, 0
	for g := range e.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := store.Store(e.Store)
			if g%2 == 1 {
				st = second
			}
			for i := range 10 {
				tk := store.APIToken{Name: "shared", Hash: hashOf(fmt.Sprint(g, "/", i))}
				if err := st.CreateAPIToken(ctx, &tk); err == nil {
					mu.Lock()
					created++
					mu.Unlock()
				} else if !errors.Is(err, store.ErrDuplicate) {
					t.Error(err)
					return
				}
				if err := st.RevokeAPIToken(context.WithoutCancel(ctx), "shared", time.Time{}); err == nil {
					mu.Lock()
					revoked++
					mu.Unlock()
				} else if !errors.Is(err, store.ErrNotFound) {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	list, err := e.APITokens(ctx)
	must(t, err)
	live := 0
	for _, tk := range list {
		if tk.RevokedAt.IsZero() {
			live++
		}
	}
	eq(t, "tokens stored", len(list), created)
	eq(t, "live tokens", live, created-revoked)
	if live > 1 {
		t.Fatalf("%d live tokens share a name", live)
	}
}
