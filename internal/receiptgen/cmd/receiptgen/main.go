package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"printpay.dev/printpay/internal/receiptgen"
)

func main() {
	if len(os.Args) < 2 || strings.HasPrefix(os.Args[1], "-") {
		fmt.Fprintln(os.Stderr, "usage: receiptgen DIR...")
		os.Exit(2)
	}
	failed := false
	for _, dir := range os.Args[1:] {
		written, same, err := regenerate(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			failed = true
		}
		fmt.Printf("%s: %d written, %d unchanged\n", dir, written, same)
	}
	if failed {
		os.Exit(1)
	}
}

// regenerate encodes every DIR/*.txt; it goes on after a bad source and
// returns all the errors joined.
func regenerate(dir string) (written, same int, err error) {
	srcs, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil {
		return 0, 0, err
	}
	if len(srcs) == 0 {
		return 0, 0, fmt.Errorf("receiptgen: no .txt files in %s", dir)
	}
	var errs []error
	for _, src := range srcs {
		text, err := os.ReadFile(src)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out, err := receiptgen.Encode(text)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", src, err))
			continue
		}
		bin := strings.TrimSuffix(src, ".txt") + ".bin"
		old, err := os.ReadFile(bin)
		if err == nil && bytes.Equal(old, out) {
			same++
			continue
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		if err := os.WriteFile(bin, out, 0o644); err != nil {
			errs = append(errs, err)
			continue
		}
		written++
	}
	return written, same, errors.Join(errs...)
}
