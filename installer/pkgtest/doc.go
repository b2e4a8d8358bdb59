// Package pkgtest holds the tests of the built installers against real
// package managers: the .deb with dpkg (install, upgrade, remove, purge) and
// the Windows setup under headless Wine (silent install, service running, a
// job printed, upgrade, repair, uninstall). They change the machine (dpkg
// installs system-wide; Wine prefixes are large), so they run only under
// PRINTPAY_PKG_TESTS=1, as `make test-installers` sets, and as root.
//
// The package has no non-test code.
package pkgtest
