//go:build !windows

package main

import "github.com/kardianos/service"

// nativeRunService runs p under kardianos' runner: Start, then Stop on
// SIGINT or SIGTERM (what systemd and init scripts send).
func nativeRunService(s service.Service, _ *program) error { return s.Run() }
