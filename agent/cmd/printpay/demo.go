package main

import "context"

func cmdDemo(_ context.Context, s stdio, _ []string) int { return notYet(s, "demo") }
