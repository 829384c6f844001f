//go:build !unix

package chat_test

const fdChildEnv = "SWITCHBOARD_CHAT_FD_CHILD"

func fdLimitedServer() {}
