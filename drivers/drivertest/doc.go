// Package drivertest provides Recorder, a fake drivers.Printer for tests of
// the code that writes to printers (the agent's worker). It records every
// byte it accepts and the job boundaries, and fails on purpose: after N
// bytes with any error (a disconnect, paper-out), by stalling, or by
// reporting a status.
package drivertest
