package mailticket

import (
	"strings"
)

// authFailed reports whether the Authentication-Results header of the
// MTA named authServID (RFC 8601; the first one it added, the others
// could come from anyone) says the From domain failed: dmarc=fail, or,
// without a DMARC result, spf=fail or softfail and no dkim=pass.
func authFailed(m *Mail, authServID string) bool {
	for _, v := range m.Header.Values("Authentication-Results") {
		id, results, _ := strings.Cut(v, ";")
		if !strings.EqualFold(strings.TrimSpace(strings.Fields(id + " x")[0]), authServID) {
			continue
		}
		res := map[string]string{}
		for _, r := range strings.Split(results, ";") {
			f := strings.Fields(strings.TrimSpace(r))
			if len(f) == 0 {
				continue
			}
			method, result, ok := strings.Cut(strings.ToLower(f[0]), "=")
			if !ok {
				continue
			}
			if method == "dkim" && res["dkim"] == "pass" {
				continue // one passing signature is enough
			}
			res[method] = result
		}
		switch {
		case res["dmarc"] != "":
			return res["dmarc"] == "fail"
		case res["spf"] == "fail" || res["spf"] == "softfail":
			return res["dkim"] != "pass"
		}
		return false
	}
	return false
}
