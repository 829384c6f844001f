package store

import "errors"

// Sentinel errors returned (possibly wrapped) by every Store implementation.
// Test for them with errors.Is.
var (
	// ErrNotFound means the record asked for does not exist.
	ErrNotFound = errors.New("store: not found")

	// ErrDuplicate means the operation would create a second copy of
	// something that must be unique: a mail already ingested (same dedup
	// key), a name or e-mail address already taken.
	ErrDuplicate = errors.New("store: duplicate")

	// ErrConflict means the operation does not fit the record's current
	// state, for example a message appended to a closed conversation, or
	// a state change asked for a transmission that is no longer in the
	// state the caller expected.
	ErrConflict = errors.New("store: conflict")

	// ErrInvalid means the caller passed a record that breaks a documented
	// rule (an empty required field, an unknown state, a negative limit).
	ErrInvalid = errors.New("store: invalid argument")

	// ErrClosed is returned by operations on a Store after Close.
	ErrClosed = errors.New("store: closed")
)
