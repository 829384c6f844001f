package loginguard

import (
	"context"
	"time"
)

// Account is what Login needs of the account a login names.
type Account struct {
	PasswordHash string // "" for an unknown login
	Disabled     bool
}

// Outcome is how a Login ended.
type Outcome int

const (
	LoggedIn Outcome = iota
	WrongPassword
	Refused    // over the limits: Login's reason says why; the password was not read
	Busy       // no hashing slot in time; counted for nobody
	LookupFail // the account could not be read; counted for nobody
)

// Login runs one password login under the guard: the attempt is counted
// first (or refused), the account looked up, the password compared in a
// hashing slot, and the attempt settled. A failure of the server's (the
// lookup, hashing busy, ctx ended) gives the count back without making
// the address known. A disabled account's right password is a wrong one.
// reason is Refused's; err is LookupFail's. It sweeps the guard's
// expired counts every few seconds.
func (g *Guard) Login(ctx context.Context, login, host, password string, trusted bool, now time.Time,
	lookup func() (Account, error)) (out Outcome, reason string, err error) {
	g.sweepDue(now)
	attempt, ok, why := g.Begin(login, host, trusted, now)
	if !ok {
		return Refused, why, nil
	}
	acct, err := lookup()
	if err != nil {
		g.Refund(attempt)
		return LookupFail, "", err
	}
	good, busy := g.Hash(ctx, func() bool { return CheckPassword(acct.PasswordHash, password) && !acct.Disabled })
	if busy {
		g.Refund(attempt)
		return Busy, "", nil
	}
	g.Done(attempt, login, host, good)
	if !good {
		return WrongPassword, "", nil
	}
	return LoggedIn, "", nil
}
