package main

import "context"

func cmdSend(_ context.Context, s stdio, _ []string) int { return notYet(s, "send") }
