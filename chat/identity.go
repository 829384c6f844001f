package chat

import (
	"context"
	"encoding/base64"

	"github.com/switchboard-go/switchboard/store"
)

// Customers never see an operator's login (a login is half of a
// credential, and the login limiter keys on it): POSTs, events and
// transcripts name operators to customers by display name and by a
// public id derived from the login with the server's secret.

// publicOperatorID is the id customers see for operator id: stable for a
// secret, not reversible without it.
func (s *Server) publicOperatorID(id string) string {
	if id == "" {
		return ""
	}
	if v, ok := s.publicIDs.Load(id); ok {
		return v.(string)
	}
	p := "op-" + base64.RawURLEncoding.EncodeToString(mac(s.secret, "operator-id", id)[:9])
	s.publicIDs.Store(id, p)
	return p
}

// defaultOperatorName is shown for an operator whose account has no
// display name.
const defaultOperatorName = "Operator"

// operatorName is the display name of operator id: as it last logged in
// here, else from the directory, else defaultOperatorName.
func (s *Server) operatorName(ctx context.Context, id string) string {
	if v, ok := s.opNames.Load(id); ok {
		return v.(string)
	}
	name := defaultOperatorName
	if s.Operators != nil {
		if acct, err := s.Operators.Operator(ctx, id); err == nil && store.CleanLine(acct.Name) != "" {
			name = store.CleanLine(acct.Name)
		}
	}
	s.opNames.Store(id, name)
	return name
}

// postFor is the POST of stored message m for connection c, which
// follows cv: with the sender's name, and an operator named by its
// public id when c is a customer's.
func (s *Server) postFor(ctx context.Context, c *conn, cv *conv, m store.Message, att *store.Attachment) *Post {
	var name string
	switch m.SenderRole {
	case store.RoleCustomer:
		name = cv.rec.CustomerName
	case store.RoleOperator:
		name = s.operatorName(ctx, m.SenderID)
	}
	p := s.post(ctx, m, name, att)
	if m.SenderRole == store.RoleOperator && c.op == nil {
		p.SenderID = s.publicOperatorID(m.SenderID)
	}
	return p
}
