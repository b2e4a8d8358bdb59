// Package fakeprinter is the far end of a link in driver tests: a small
// ESC/POS printer that records every byte it receives and answers DLE EOT n
// and GS r n like a real one, or reports paper-out, goes silent, answers
// garbage or floods its back channel.
package fakeprinter
