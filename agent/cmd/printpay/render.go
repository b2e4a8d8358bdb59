package main

import "context"

func cmdRender(_ context.Context, s stdio, _ []string) int { return notYet(s, "render") }
