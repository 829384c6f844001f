package console

import (
	"errors"
	"net/http"
)

// chatPage is the operators' chat: the line and their conversations.
func (s *Server) chatPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, "chat", http.StatusOK, nil)
}

// sessionOperator is the operator of a chat WebSocket request: its
// session's login, for an operator or an admin.
func (s *Server) sessionOperator(r *http.Request) (string, error) {
	sess, err := s.current(r)
	if err != nil {
		return "", err
	}
	if sess == nil || !operators(sess.role) {
		return "", errors.New("no operator's session")
	}
	return sess.login, nil
}
