// Package tcp drives a network receipt printer on its raw port (9100,
// "AppSocket"/JetDirect). The connection is opened by Open and kept between
// jobs; the printer's replies on the same connection (DLE EOT answers,
// Automatic Status Back) feed the status cache. When the printer closes
// the connection (many do after an idle minute) or a write fails, the
// driver reports offline and the next Write dials again. Every dial and
// write is bounded by Config.DialTimeout and Config.WriteTimeout.
package tcp
