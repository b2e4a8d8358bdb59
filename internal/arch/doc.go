// Package arch holds no code: its test enforces the dependency arrows and
// the process rules of the project's style guide over the whole module
// (which packages may import which, where os.Exit, flags, environment
// variables, cgo and the service library may appear).
package arch
