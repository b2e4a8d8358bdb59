package main

import "context"

func cmdSplice(_ context.Context, s stdio, _ []string) int { return notYet(s, "splice") }
