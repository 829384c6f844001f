package store

import "context"

// SecretStore keeps the secrets that every process on one store must
// share: the keys that sign chat resume tokens and mark our mails'
// Message-IDs. Two processes with different keys would refuse each
// other's tokens (a customer resuming on another node) and fail to thread
// replies to mail another process sent.
type SecretStore interface {
	// EnsureSecret returns the secret named name. When there is none yet
	// it stores value (16 to 1024 bytes) under that name first: the first
	// caller creates it, and every caller, in any process on the store,
	// concurrent ones too, gets the same bytes. ErrInvalid for a name
	// that is empty or over 64 bytes, or a value out of bounds.
	EnsureSecret(ctx context.Context, name string, value []byte) ([]byte, error)
}
