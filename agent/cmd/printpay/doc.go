// Command printpay is the agent: a virtual receipt printer that puts a WeChat
// Pay QR on payable receipts and drives the shop's real printer.
//
// Every subcommand lives in its own file as a func(context.Context, stdio,
// []string) int; main only dispatches. Flags always come before file
// arguments.
package main
