package main

import "context"

func cmdRun(_ context.Context, s stdio, _ []string) int { return notYet(s, "run") }
