package main

import "context"

func cmdMerchant(_ context.Context, s stdio, _ []string) int { return notYet(s, "merchant") }
