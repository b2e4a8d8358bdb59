package main

import "context"

func cmdService(_ context.Context, s stdio, _ []string) int { return notYet(s, "service") }
