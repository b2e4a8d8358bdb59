package main

import "context"

func cmdMigrate(_ context.Context, s stdio, _ []string) int { return notYet(s, "migrate") }
