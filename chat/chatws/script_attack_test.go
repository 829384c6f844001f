package chatws_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The script's decoder on hostile server bytes (run in node): varints
// past 2^53 or longer than ten bytes, strings of invalid UTF-8, lengths
// and counts far beyond the payload, truncated optional groups, frames
// over the limit: each is refused with an exception (which the client
// turns into a closed connection), none hangs, allocates by a count, or
// yields a wrong number.
func TestAttackScriptDecoderOnHostileBytes(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	script, err := filepath.Abs("switchboard-chat.js")
	require.NoError(t, err)
	prog := `
require(` + "`" + script + "`" + `);
const S = globalThis.SwitchboardChat, T = S.TYPES;
const cases = {
  "varint 2^53": [T.PING, [0x80,0x80,0x80,0x80,0x80,0x80,0x80,0x10]],
  "varint 2^64-1": [T.PING, [0xff,0xff,0xff,0xff,0xff,0xff,0xff,0xff,0xff,0x01]],
  "varint 11 bytes": [T.PING, [0x80,0x80,0x80,0x80,0x80,0x80,0x80,0x80,0x80,0x80,0x00]],
  "invalid utf-8": [T.BYE, [2, 0xc3, 0x28]],
  "surrogate utf-8": [T.BYE, [3, 0xed, 0xa0, 0x80]],
  "overlong utf-8": [T.BYE, [2, 0xc0, 0xaf]],
  "length 2^52": [T.BYE, [0x80,0x80,0x80,0x80,0x80,0x80,0x80,0x08]],
  "strings 2^40": [T.WELCOME, [0,0,0,0,0,0,0, 1, 0x80,0x80,0x80,0x80,0x80,0x20]],
  "queue entries 2^40": [T.QUEUE, [1, 0x80,0x80,0x80,0x80,0x80,0x20]],
  "bool 2": [T.TYPING, [1, 2, 1]],
  "truncated opt group": [T.EVENT, [1,1,0,0,0,0,0, 0x80]],
};
const out = {};
for (const [name, [type, bytes]] of Object.entries(cases)) {
  try { out[name] = "decoded " + JSON.stringify(S.decode(type, 0, new Uint8Array(bytes))); }
  catch (e) { out[name] = "refused"; }
}
const f = new S.Framer(1 << 16);
try { f.push(new Uint8Array([1, T.POST, 0, 0, 0xff, 0xff, 0xff, 0xff])); out["frame 4 GiB"] = "accepted"; } catch (e) { out["frame 4 GiB"] = "refused"; }
const max = S.decode(T.PING, 0, new Uint8Array([0xff,0xff,0xff,0xff,0xff,0xff,0xff,0x0f]));
out["2^53-1"] = String(max.nonce === Number.MAX_SAFE_INTEGER);
console.log(JSON.stringify(out));
`
	f := filepath.Join(t.TempDir(), "hostile.js")
	require.NoError(t, os.WriteFile(f, []byte(prog), 0o644))
	b, err := exec.Command(node, f).CombinedOutput()
	require.NoError(t, err, "%s", b)
	got := strings.TrimSpace(string(b))
	t.Log(got)
	for _, name := range []string{"varint 2^53", "varint 2^64-1", "varint 11 bytes", "invalid utf-8", "surrogate utf-8",
		"overlong utf-8", "length 2^52", "strings 2^40", "queue entries 2^40", "bool 2", "truncated opt group", "frame 4 GiB"} {
		assert.Contains(t, got, `"`+name+`":"refused"`)
	}
	assert.Contains(t, got, `"2^53-1":"true"`)
}
