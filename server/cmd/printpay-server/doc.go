// Command printpay-server is the backend the agents talk to: it holds the
// merchants' WeChat Pay keys, mints orders, receives payment notifications and
// keeps the ledger. `printpay-server sandbox` runs the WeChat Pay v3 emulator
// used by tests and by `printpay demo`.
package main
