package main

import "context"

func cmdEnroll(_ context.Context, s stdio, _ []string) int { return notYet(s, "enroll") }
