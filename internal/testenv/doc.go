// Package testenv lets tests ask for the real components they run against
// (command-line tools, PostgreSQL, NATS) and decide what to do when one is
// missing.
//
// By default a missing component skips the test with a message that names it.
// Under PRINTPAY_REQUIRE_TOOLS=1 (tools) or PRINTPAY_REQUIRE_SERVICES=1
// (PostgreSQL, NATS) the test fails instead: `make test` and CI set both, so a
// suite that silently stopped running turns CI red.
package testenv
