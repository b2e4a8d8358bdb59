package main

import "context"

func cmdSandbox(_ context.Context, s stdio, _ []string) int { return notYet(s, "sandbox") }
