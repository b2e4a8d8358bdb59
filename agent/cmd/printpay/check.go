package main

import "context"

func cmdCheck(_ context.Context, s stdio, _ []string) int { return notYet(s, "check") }
