package loginguard

import (
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// An unknown login is checked against a dummy hash, so that it takes as
// long as a wrong password: of the cost of the last real hash checked
// (the directory's cost), made when first needed.
var (
	dummyMu   sync.Mutex
	dummyCost = bcrypt.DefaultCost
	dummies   = map[int][]byte{}
)

func dummyHash() []byte {
	dummyMu.Lock()
	defer dummyMu.Unlock()
	h := dummies[dummyCost]
	if h == nil {
		h, _ = bcrypt.GenerateFromPassword([]byte("switchboard-dummy"), dummyCost)
		dummies[dummyCost] = h
	}
	return h
}

// CheckPassword reports whether password matches a bcrypt hash. An
// unknown login is checked with hash "": it is compared with a dummy hash
// of the cost of the last real one, so it takes as long as a wrong
// password and tells no one which logins exist.
func CheckPassword(hash, password string) bool {
	if hash == "" {
		bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		return false
	}
	if cost, err := bcrypt.Cost([]byte(hash)); err == nil {
		dummyMu.Lock()
		dummyCost = cost
		dummyMu.Unlock()
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}
