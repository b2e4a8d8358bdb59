package main

import "context"

func cmdServe(_ context.Context, s stdio, _ []string) int { return notYet(s, "serve") }
