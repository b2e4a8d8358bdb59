package main

import (
	"context"
	"flag"
	"fmt"

	"printpay.dev/printpay/server/store"
)

func cmdMigrate(ctx context.Context, s stdio, args []string) int {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(s.err)
	var f serverFlags
	f.register(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := f.load()
	if err != nil {
		fmt.Fprintln(s.err, "printpay-server migrate:", err)
		return 1
	}
	st, n, err := openStore(ctx, cfg)
	if err != nil {
		fmt.Fprintln(s.err, "printpay-server migrate:", err)
		return 1
	}
	defer st.Close()
	v, _ := st.SchemaVersion(ctx)
	fmt.Fprintf(s.out, "%s: applied %d migration(s), schema version %d\n", store.RedactDSN(cfg.Database), n, v)
	return 0
}
