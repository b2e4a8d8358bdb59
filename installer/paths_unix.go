//go:build !windows

package installer

func nativeDefaultPaths() (Paths, error) {
	p := PathsUnder("/etc/printpay/printpay.toml", "/var/lib/printpay")
	p.Log = "/var/log/printpay/printpay.log"
	return p, nil
}
