package cloud

import (
	"strconv"
	"strings"
)

// versionLess reports whether version a is older than b, comparing
// "v1.2.3-pre+build" style versions: numeric major, minor and patch (missing
// parts are 0), and a pre-release older than its release. ok is false when
// either is not such a version (e.g. "dev"), and nothing can be said.
func versionLess(a, b string) (less, ok bool) {
	va, oka := parseVersion(a)
	vb, okb := parseVersion(b)
	if !oka || !okb {
		return false, false
	}
	for i := range 3 {
		if va.n[i] != vb.n[i] {
			return va.n[i] < vb.n[i], true
		}
	}
	switch {
	case va.pre == vb.pre:
		return false, true
	case va.pre == "":
		return false, true
	case vb.pre == "":
		return true, true
	}
	return comparePre(va.pre, vb.pre) < 0, true
}

type version struct {
	n   [3]int
	pre string
}

func parseVersion(s string) (version, bool) {
	var v version
	s = strings.TrimPrefix(strings.TrimSpace(s), "v")
	s, _, _ = strings.Cut(s, "+")
	s, v.pre, _ = strings.Cut(s, "-")
	parts := strings.Split(s, ".")
	if s == "" || len(parts) > 3 {
		return v, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return v, false
		}
		v.n[i] = n
	}
	return v, true
}

// comparePre orders pre-release strings as semver does: dot-separated
// fields, numeric ones numerically and below alphanumeric ones.
func comparePre(a, b string) int {
	fa, fb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(fa) && i < len(fb); i++ {
		na, ea := strconv.Atoi(fa[i])
		nb, eb := strconv.Atoi(fb[i])
		switch {
		case ea == nil && eb == nil:
			if na != nb {
				if na < nb {
					return -1
				}
				return 1
			}
		case ea == nil:
			return -1
		case eb == nil:
			return 1
		default:
			if c := strings.Compare(fa[i], fb[i]); c != 0 {
				return c
			}
		}
	}
	return len(fa) - len(fb)
}
