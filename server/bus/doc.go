// Package bus tells the server nodes that a device has an order.paid
// waiting, so that whichever node holds that agent's websocket delivers it.
//
// A message carries only a key, usually a device id: the delivery itself lives in the
// store until the agent acks it, so a lost or repeated bus message costs at
// most a wasted lookup, never a lost or doubled payment notice.
//
// Local is the in-process bus (one node). NATS connects the nodes through a
// NATS server (github.com/nats-io/nats.go) when the config names one.
package bus
