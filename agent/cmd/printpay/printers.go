package main

import "context"

func cmdPrinters(_ context.Context, s stdio, _ []string) int { return notYet(s, "printers") }
