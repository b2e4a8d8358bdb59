package store

import (
	"context"
	"fmt"
	"strings"
)

// AssertNoPlaintext fails when any of the secrets appears in a token or
// pairing-code column.
func AssertNoPlaintext(ctx context.Context, s *Store, secrets ...string) error {
	for _, q := range []string{`SELECT token_hash FROM devices`, `SELECT code_hash FROM pairing_codes`} {
		rows, err := s.db.QueryContext(ctx, q)
		if err != nil {
			return err
		}
		for rows.Next() {
			var v string
			rows.Scan(&v)
			for _, sec := range secrets {
				if strings.Contains(v, sec) {
					rows.Close()
					return fmt.Errorf("secret %q stored in plain text", sec)
				}
			}
		}
		rows.Close()
	}
	return nil
}
