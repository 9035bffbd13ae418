package store

//go:generate go run ./internal/gencountries
