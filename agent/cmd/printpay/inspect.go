package main

import "context"

func cmdInspect(_ context.Context, s stdio, _ []string) int { return notYet(s, "inspect") }
