// Package all opens any configured printer by its driver name, and lists
// every printer the drivers can see. It is the one place that imports
// every driver, so the agent depends on drivers/all rather than on each.
package all
